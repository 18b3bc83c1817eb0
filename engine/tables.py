"""The compiled price book: immutable lookup tables, and the lookups that read them.

`compile.py` gives a `PriceBook`; `quote.py`, `rating.py` and `billing.py` read
it through the lookups at the end of this module (`resolve_region`,
`find_offer`, `table_at`, `select_tier`, `require_currency`,
`no_price_error`), each of which says why when it finds nothing. This is a
data module: it imports no later stage. Nothing here walks the AST: a quote
is a dict lookup for the region, one for the model, and a bisect over a
table's tier upper bounds. Every table is a frozen, slotted
attrs class. The mappings a quote reads (`offers`, `place_lookup`, a tier's
`prices`) are plain dicts, built once and never written after compile: a
read-only proxy would cost a measurable share of every quote. The others are
read-only proxies.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import attrs

from .errors import (
    BeyondHighestTier,
    InvalidTokens,
    NoPriceInCurrency,
    NotEffective,
    RegionNotOffered,
    UnknownModel,
    UnknownRegion,
    UnknownTokenType,
    VariantNotPriced,
    did_you_mean,
)
from .moments import WINDOW_FIELD, ClockWindow, instant_of
from .places import normalize_place
from .source import Span
from .units import TOKENS, Unit

#: The prices of a tier in a currency it has none in: one shared empty mapping.
NO_PRICES: Mapping = MappingProxyType({})

frozen = attrs.frozen(slots=True)


@frozen
class Region:
    id: str
    display_names: tuple[str, ...]
    span: Span | None = attrs.field(default=None, eq=False)  # its `region` statement

    @property
    def name(self) -> str:
        return self.display_names[0] if self.display_names else self.id


@frozen
class UnitPrice:
    """One token type's price in one currency: as written (per pricing unit) and per token.

    `per_token` is also kept as an integer `numerator` times 10 ** `exponent`,
    with one exponent for all token types of a tier and currency, so that a
    quote can sum a request's cost in integers and build one `Decimal` at the end.
    """

    per_unit: Decimal
    per_token: Decimal
    numerator: int
    exponent: int


@frozen
class RateUnit:
    """What a rate not priced per the book's unit is for: `web_search 10 per 1K searches`, or tokens per 1K in a
    book that prices per 1M."""

    unit: Unit  # what usage counts
    size: int  # how many of it a price is for: 1000
    label: str  # the pricing unit: `1K searches`


@attrs.frozen(slots=True, eq=False)
class Tier:
    """One tier of one rate table. Compared and hashed by identity: bill lines are keyed by it."""

    index: int  # 1-based, in order of request size
    lower: int
    upper: int | None  # None: no upper bound
    label: str  # `0 < T <= 128K`, or `all` for a flat table
    prices: Mapping[str, Mapping[str, UnitPrice]]  # currency -> token type -> price
    not_billed: frozenset[str]
    token_types: tuple[str, ...]
    span: Span  # the tier row
    # (token type, currency) -> the price as written (`input 0.000138`, `CNY 0.00096`); (token type, None) -> the
    # whole rate (`output not billed`). Read when a line is shown, never on the quote hot path.
    rate_spans: Mapping[tuple[str, str | None], Span] = attrs.field(factory=dict)
    rate_units: Mapping[str, RateUnit] = attrs.field(factory=dict)  # the rates not priced per the book's unit
    fees: tuple[str, ...] = ()  # its meters priced per request: each request counts one, usage never does

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "lower": self.lower, "upper": self.upper}

    def rate_span(self, token_type: str, currency: str | None = None) -> Span:
        """Where the rate of `token_type` (in `currency`) is written: its own cell, else the tier row."""
        spans = self.rate_spans
        return spans.get((token_type, currency)) or spans.get((token_type, None)) or self.span


@frozen
class TierTable:
    """The tiers of one model in one region for one effective date range."""

    start: datetime | None
    end: datetime | None
    uppers: tuple[int, ...]  # tier upper bounds for bisect; the open top tier is left out
    tiers: tuple[Tier, ...]
    span: Span

    def in_force(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)


@attrs.frozen(slots=True, eq=False)
class Offer:
    """Everything needed to price one model in one region, in one variant. Compared and hashed by identity."""

    model: str
    region: Region
    selector: tuple[str, ...]  # the token types whose per-request sum chooses the tier
    tables: tuple[TierTable, ...]
    dated: bool  # False when no date matters: one undated table, and an undated book with no trial
    variant: tuple[str, ...] = ()  # the variant values it prices (in the book's field order); () for the model's own
    # On the model's own offer: every combination of variant values priced here, by its values in field order.
    variants: Mapping[tuple[str, ...], Offer] = attrs.field(factory=dict)
    windows: tuple[str, ...] = ()  # on the model's own offer: the time windows it prices (no two overlap)


@frozen
class Variant:
    """One value of a variant field (`batch` of `variant processing = batch * 0.5`)."""

    name: str
    field: str
    multiplier: Decimal | None  # every model's, unless it prices the variant itself
    span: Span
    window: ClockWindow | None = None  # a time window (field `window`): chosen by a request's time, not its fields


@frozen
class Quota:
    name: str
    title: str
    free_tokens: int
    window_length: int
    window_unit: str  # "days" or "months"
    consumes: tuple[str, ...]  # in the order tokens are consumed within a record
    span: Span


@frozen
class Trial:
    until: datetime
    reason: str
    span: Span


@frozen
class Example:
    title: str
    place: str
    model: str
    tokens: tuple[tuple[str, int], ...]
    requests: int
    at: datetime | None
    currency: str
    expected: Decimal
    expected_text: str
    span: Span
    variant: tuple[str, ...] = ()


@frozen
class PriceBook:
    name: str
    title: str
    source: str | None
    path: str
    currencies: tuple[str, ...]
    currency: str  # the default: the first one declared
    unit_tokens: int
    zone: timezone
    cycle: str  # "hourly" or "daily"
    round_places: int
    round_mode: str  # a decimal.ROUND_* constant
    quantum: Decimal
    unit_label: str  # "1K tokens"
    start: datetime | None
    end: datetime | None
    regions: Mapping[str, Region]  # by ID
    place_lookup: Mapping[str, str]  # ID or normalized display name -> region ID
    groups: Mapping[str, tuple[str, ...]]
    models: Mapping[str, tuple[str, ...]]  # model -> token types it prices or lists as not billed
    offers: Mapping[tuple[str, str], Offer]  # (model, region ID) -> offer
    quota: Quota | None
    trial: Trial | None
    examples: tuple[Example, ...]
    source_files: tuple[str, ...] = ()  # real paths of every file the book was compiled from: outputs must spare them
    group_spans: Mapping[str, Span] = attrs.field(factory=dict)  # group -> its `group` statement
    aliases: Mapping[str, str] = attrs.field(factory=dict)  # another name of a model (exactly as written) -> its ID
    units: Mapping[str, Unit] = attrs.field(factory=dict)  # the meters counted in another unit than tokens
    meter_columns: Mapping[str, str] = attrs.field(factory=dict)  # their usage columns (`web_searches`) -> meter
    variant_fields: tuple[str, ...] = ()  # usage fields that choose a variant, in the order variants stack
    variants: Mapping[str, Variant] = attrs.field(factory=dict)  # by value
    exclusive: tuple[frozenset[str], ...] = ()  # variant fields one request may not combine
    windows: tuple[Variant, ...] = ()  # the time windows, in the book's order

    def quote(self, region: str, model: str, tokens: Mapping[str, int], requests: int = 1,
              currency: str | None = None, at: datetime | str | None = None, variants=()):
        """Price one request (or `requests` identical ones). See `ratecard.quote.quote`."""
        from .quote import quote
        # Bind the real function in place of this one: the quote path is the hot path, and this module
        # (data) must not import quote.py (a later stage) when it is loaded.
        PriceBook.quote = quote
        return quote(self, region, model, tokens, requests, currency, at, variants)

    @property
    def token_types(self) -> frozenset[str]:
        """Every token type any model of the book prices or lists as not billed."""
        return frozenset(t for types in self.models.values() for t in types)

    def rate(self, record, currency: str | None = None):
        """Place one usage record on the bill: its cycle, tier and tokens. See `ratecard.rating.rate`."""
        from .rating import rate
        return rate(self, record, currency)

    def bill(self, records: Iterable, currency: str | None = None, **options):
        """Bill usage records. See `ratecard.billing.bill`."""
        from .billing import bill
        return bill(self, records, currency=currency, **options)


def unit_of(book: PriceBook, meter: str) -> Unit:
    """What usage counts of `meter`: tokens, unless the book prices it per another unit."""
    return book.units.get(meter, TOKENS)


def model_aliases(book: PriceBook, model: str) -> tuple[str, ...]:
    """The other names usage may give `model`, in the order the book writes them."""
    return tuple(alias for alias, owner in book.aliases.items() if owner == model)


def single_variants(book: PriceBook, model: str) -> tuple[str, ...]:
    """The variant values `model` prices on their own somewhere (`flex`, `off-peak`), in the book's order."""
    priced = {value for (name, _), offer in book.offers.items() if name == model
              for (value, *more) in offer.variants if not more}
    return tuple(value for value in book.variants if value in priced)


def unit_label(tokens: int) -> str:
    return TOKENS.label(tokens)


def in_force_from(tables: Iterable[TierTable], start: datetime | None) -> TierTable | None:
    """The table in force from `start` on (None: from the beginning of time)."""
    if start is None:
        return next((t for t in tables if t.start is None), None)
    return next((t for t in tables if t.in_force(start)), None)


def readonly(mapping: dict) -> Mapping:
    """A read-only view, for tables that are not on the quote path."""
    return MappingProxyType(mapping)


# --- lookups: each says why when it finds nothing ----------------------------------------------------

def resolve_region(book: PriceBook, place: str) -> str:
    """The region ID for an ID or display name (any case and spacing)."""
    region_id = book.place_lookup.get(place)
    if region_id is None:
        region_id = book.place_lookup.get(normalize_place(str(place)))
        if region_id is None:
            names = [*book.regions, *(n for r in book.regions.values() for n in r.display_names)]
            raise UnknownRegion(f"unknown region '{place}'", did_you_mean(str(place), names)
                                or "use a region ID such as us-east-1 or its display name")
    return region_id


def find_offer(book: PriceBook, region: str, model: str) -> Offer:
    """The model's rates in a region, or the reason there are none."""
    region_id = resolve_region(book, region)
    offer = book.offers.get((model, region_id))
    if offer is not None:
        return offer
    model = book.aliases.get(model, model)
    offer = book.offers.get((model, region_id))
    if offer is not None:
        return offer
    if model not in book.models:
        raise UnknownModel(f"unknown model '{model}' in book {book.name}",
                           did_you_mean(str(model), [*book.models, *book.aliases])
                           or "models in this book: " + ", ".join(book.models))
    offered = sorted(r for (m, r) in book.offers if m == model)
    raise RegionNotOffered(f"{book.name} does not offer {model} in {region_id}",
                           "offered in: " + ", ".join(offered))


def variant_key(variant: tuple[str, ...]) -> str:
    """A variant as one text, its values in the book's field order: `batch+regional`; "" for none. `+` sorts
    before every character of a name, so these texts sort as the tuples do."""
    return "+".join(variant)


def requested_variants(book: PriceBook, variants, windows: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The variant values a request names: one value, several, or a mapping of variant fields to values (empty
    values: none). A value given for a field must be one of that field's. A time window is the request's time's
    to choose: one named is dropped when it is one of `windows`, those the request falls in, and refused if not."""
    if isinstance(variants, str):
        pairs: Iterable = ((None, variants),)
    elif isinstance(variants, Mapping):
        pairs = variants.items()
    else:
        pairs = ((None, name) for name in variants)
    names = []
    for field, name in pairs:
        if name is None or name == "":
            continue
        declared = book.variants.get(name) if isinstance(name, str) else None
        if declared is not None and field is not None and declared.field != field:
            raise VariantNotPriced(f"'{name}' is a value of {declared.field}, not of {field}",
                                   f"give it as {declared.field}, or a value of {field}: "
                                   + (", ".join(n for n, v in book.variants.items() if v.field == field) or "none"))
        if declared is not None and declared.field == WINDOW_FIELD:
            if name not in windows:
                raise VariantNotPriced(f"the request is not in the time window '{name}'",
                                       "the time of a request chooses its window: leave the window out")
            continue
        names.append(name)
    return tuple(names)


def request_windows(book: PriceBook, offer: Offer, variants, instant: int) -> tuple[str, ...]:
    """The time windows that a request at `instant` falls in, looked for when the model prices a window or the
    request names variants (which may name a window), else none."""
    return windows_of(book, instant) if offer.windows or (variants and book.windows) else ()


def windows_at(book: PriceBook, at: datetime) -> tuple[str, ...]:
    """The book's time windows `at` falls in (windows of different models may overlap), in the book's order."""
    return windows_of(book, instant_of(at))


def windows_of(book: PriceBook, instant: int) -> tuple[str, ...]:
    """The book's time windows an instant (microseconds since the epoch) falls in, in the book's order."""
    return tuple(window.name for window in book.windows if window.window.contains(instant))


def variant_offer(book: PriceBook, offer: Offer, variants, windows: tuple[str, ...] = ()) -> Offer:
    """The offer in the variant the request names, in the time window it falls in (of `windows`) when the model
    prices that (with the variant), else without it; the offer itself when it names none; or the reason there is
    no price."""
    names = requested_variants(book, variants, windows)
    window = next((name for name in windows if name in offer.windows), None)  # one at most: `check` sees to it
    order = {field: rank for rank, field in enumerate(book.variant_fields)}
    if window is not None:
        try:
            found = offer.variants.get(_in_field_order(book, order, (*names, window)))
        except (KeyError, TypeError):  # an unknown name: said below
            found = None
        if found is not None:
            return found
    if not names:
        return offer
    try:
        key = _in_field_order(book, order, names)
    except (KeyError, TypeError):
        unknown = next(str(n) for n in names if n not in book.variants)
        raise VariantNotPriced(f"unknown variant '{unknown}' in book {book.name}",
                               did_you_mean(unknown, book.variants)
                               or ("variants: " + ", ".join(book.variants) if book.variants
                                   else "this book declares no variants: leave the variant out")) from None
    found = offer.variants.get(key)
    if found is not None:
        return found
    fields: dict[str, str] = {}
    for name in key:
        field = book.variants[name].field
        if field in fields:
            raise VariantNotPriced(f"variants '{fields[field]}' and '{name}' are both values of '{field}'",
                                   f"a request has one {field}: name one of them")
        fields[field] = name
    for excluded in book.exclusive:
        both = [fields[f] for f in book.variant_fields if f in excluded and f in fields]
        if len(both) > 1:
            raise VariantNotPriced(f"variants {' and '.join(repr(n) for n in both)} exclude each other in "
                                   f"{book.name}", "the book says `exclusive " + ", ".join(
                                       f for f in book.variant_fields if f in excluded) + "`: name one of them")
    priced = sorted({name for combination in offer.variants for name in combination})
    missing = next((name for name in key if name not in priced), key[-1])
    raise VariantNotPriced(f"{offer.model} has no '{missing}' prices in {offer.region.id}",
                           "its variants there: " + (", ".join(priced) or "none"))


def _in_field_order(book: PriceBook, order: dict[str, int], names) -> tuple[str, ...]:
    return tuple(sorted(dict.fromkeys(names), key=lambda name: order[book.variants[name].field]))


def table_at(book: PriceBook, offer: Offer, at: datetime) -> TierTable:
    """The offer's tier table in force at `at`."""
    if (book.start is not None and at < book.start) or (book.end is not None and at >= book.end):
        raise NotEffective(f"{book.name} is not in force at {at.isoformat()}",
                           f"it is in force from {book.start} until {book.end}")
    for table in offer.tables:
        if table.in_force(at):
            return table
    raise NotEffective(f"{offer.model} has no rates in {offer.region.id} at {at.isoformat()}",
                       "check the effective dates of its rate tables")


def selector_text(selector: tuple[str, ...]) -> str:
    """`input`, or `input + cache_read + cache_write`: what chooses a tier, as the book writes it."""
    return " + ".join(selector)


def selector_count(selector: tuple[str, ...], token_types: tuple[str, ...], counts: tuple[int, ...]) -> int:
    """The per-request sum of the selector's token types in a record's counts (a type it lacks counts 0)."""
    return sum(counts[token_types.index(t)] for t in selector if t in token_types)


def select_tier(table: TierTable, offer: Offer, selector_tokens: int) -> Tier:
    """The tier whose `(lower, upper]` range holds `selector_tokens` (the first tier also holds 0)."""
    index = bisect_left(table.uppers, selector_tokens)
    if index == len(table.tiers):
        raise beyond_highest_tier(table, offer, selector_tokens)
    return table.tiers[index]


def rate_unit_of(tier: Tier, meter: str, book_unit_label: str) -> tuple[str, str]:
    """What a line of `meter` counts and what its price is for: (`tokens`, `1M tokens`), (`searches`, `1K searches`)."""
    rate_unit = tier.rate_units.get(meter)
    return ("tokens", book_unit_label) if rate_unit is None else (rate_unit.unit.plural, rate_unit.label)


def fee_given(offer: Offer, fee: str) -> InvalidTokens:
    """A count given for a fee, which each request pays once."""
    return InvalidTokens(f"'{fee}' is a fee per request of {offer.model}: it is not counted, each request pays it once",
                         f"leave '{fee}' out; pass requests=N for N requests")


def beyond_highest_tier(table: TierTable, offer: Offer, selector_tokens: int) -> BeyondHighestTier:
    top = table.tiers[-1]
    selector = selector_text(offer.selector)
    return BeyondHighestTier(
        f"a request of {selector_tokens} {selector} tokens is beyond the highest tier of {offer.model} "
        f"in {offer.region.id} ({top.label})",
        f"the largest request this book prices has {top.upper} {selector} tokens; split the request")


def require_currency(book: PriceBook, currency: str) -> str:
    """`currency`, if the book prices in it at all."""
    if currency not in book.currencies:
        raise NoPriceInCurrency(f"{book.name} has no prices in {currency!r}",
                                "it prices in " + ", ".join(book.currencies))
    return currency


def no_price_error(book: PriceBook, offer: Offer, tier: Tier, token_type: str, currency: str) -> Exception:
    """Why a token type has no price here: the model does not price it, or not in this currency."""
    unit = unit_of(book, token_type).plural
    if token_type not in tier.token_types:
        return UnknownTokenType(f"{offer.model} does not price '{token_type}' {unit}",
                                did_you_mean(token_type, tier.token_types)
                                or "it prices: " + ", ".join(tier.token_types))
    have = sorted(c for c, prices in tier.prices.items() if token_type in prices)
    return NoPriceInCurrency(
        f"{book.name} has no {currency} price for {offer.model} {token_type} {unit} in {offer.region.id} "
        f"(tier {tier.label})", "prices here are in " + (", ".join(have) or "no currency"))
