"""Quoting one request against a compiled price book.

Takes a `PriceBook`, a region (ID or display name), a model, token counts per
request, a request count, a currency and a moment, and gives a `Quote`: the
tier, one exact line per token type, the exact total and the total rounded as
the book says. Every way a request can fail to be priced raises a subclass of
`PricingError` with a hint, never a bare `KeyError`.

This is the hot path: two dict lookups, a bisect, and the cost summed in
integers with one `Decimal` built at the end. `Quote` and `QuoteLine` are named tuples rather than attrs
classes because they are built on every call and tuples are several times
cheaper to create; a quote's `lines` are assembled only when asked for.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping, NamedTuple

from .errors import (
    BeyondHighestTier,
    InvalidTokens,
    NoPriceInCurrency,
    NotEffective,
    RegionNotOffered,
    UnknownModel,
    UnknownRegion,
    UnknownTokenType,
    did_you_mean,
)
from .moments import parse_moment
from .money import EXACT, ROUNDING, ZERO, plain
from .places import normalize_place

if TYPE_CHECKING:
    from .tables import Offer, PriceBook, Tier, TierTable

_multiply = EXACT.multiply
_new_quote = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


class QuoteLine(NamedTuple):
    token_type: str
    tokens: int  # all requests together
    unit_price: Decimal  # per pricing unit, as written in the book
    amount: Decimal  # exact
    billed: bool = True


class Credit(NamedTuple):
    kind: str  # "trial"
    reason: str
    amount: Decimal  # negative


class Quote(NamedTuple):
    book: str
    region: str
    model: str
    currency: str
    tier: Tier
    requests: int
    tokens: tuple[tuple[str, int], ...]  # (token type, tokens per request), as asked
    list_total: Decimal  # exact, at list price
    credits: tuple[Credit, ...]
    total: Decimal  # exact, list total plus credits
    total_rounded: Decimal
    pricing_unit: str

    @property
    def lines(self) -> tuple[QuoteLine, ...]:
        """One line per token type: tokens of all requests, unit price as written, exact amount."""
        prices = self.tier.prices.get(self.currency, _NO_PRICES)
        return tuple(
            QuoteLine(token_type, count * self.requests, prices[token_type].per_unit,
                      _multiply(prices[token_type].per_token, count * self.requests), True)
            if token_type in prices else QuoteLine(token_type, count * self.requests, ZERO, ZERO, False)
            for token_type, count in self.tokens
        )

    def line(self, token_type: str) -> QuoteLine:
        return next(line for line in self.lines if line.token_type == token_type)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; money is in strings, never floats."""
        return {
            "book": self.book,
            "region": self.region,
            "model": self.model,
            "currency": self.currency,
            "pricing_unit": self.pricing_unit,
            "requests": self.requests,
            "tier": self.tier.as_dict(),
            "lines": [
                {"token_type": ln.token_type, "tokens": ln.tokens, "unit_price": str(ln.unit_price),
                 "amount": plain(ln.amount), "billed": ln.billed}
                for ln in self.lines
            ],
            "list_total": plain(self.list_total),
            "credits": [{"kind": c.kind, "reason": c.reason, "amount": plain(c.amount)} for c in self.credits],
            "total": plain(self.total),
            "total_rounded": str(self.total_rounded),
        }


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
    if model not in book.models:
        raise UnknownModel(f"unknown model '{model}' in book {book.name}",
                           did_you_mean(model, book.models) or "models in this book: " + ", ".join(book.models))
    offered = sorted(r for (m, r) in book.offers if m == model)
    raise RegionNotOffered(f"{book.name} does not offer {model} in {region_id}",
                           "offered in: " + ", ".join(offered))


def to_moment(book: PriceBook, at: datetime | str | None) -> datetime:
    if at is None:
        return datetime.now(timezone.utc)
    if isinstance(at, str):
        try:
            return parse_moment(at, book.zone)
        except ValueError:
            raise NotEffective(f"'{at}' is not a date or time", "write 2026-05-01T10:00+08:00") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=book.zone)


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


def select_tier(table: TierTable, offer: Offer, selector_tokens: int) -> Tier:
    """The tier whose `(lower, upper]` range holds `selector_tokens` (the first tier also holds 0)."""
    index = bisect_left(table.uppers, selector_tokens)
    if index == len(table.tiers):
        raise _beyond_highest_tier(table, offer, selector_tokens)
    return table.tiers[index]


def _beyond_highest_tier(table: TierTable, offer: Offer, selector_tokens: int) -> Exception:
    top = table.tiers[-1]
    return BeyondHighestTier(
        f"a request of {selector_tokens} {offer.selector} tokens is beyond the highest tier of {offer.model} "
        f"in {offer.region.id} ({top.label})",
        f"the largest request this book prices has {top.upper} {offer.selector} tokens; split the request")


def _check_counts(tokens: Mapping[str, int], requests: int) -> None:
    for name, value in (("requests", requests), *((f"{t} tokens", c) for t, c in tokens.items())):
        if type(value) is not int:
            raise InvalidTokens(f"{name} must be a whole number, not {value!r}", "token counts are integers")
        if value < 0:
            raise InvalidTokens(f"{name} must not be negative, got {value}", "token counts are zero or more")
    if requests < 1:
        raise InvalidTokens("requests must be at least 1", "a quote prices one request or more")


def require_currency(book: PriceBook, currency: str) -> str:
    """`currency`, if the book prices in it at all."""
    if currency not in book.currencies:
        raise NoPriceInCurrency(f"{book.name} has no prices in {currency!r}",
                                "it prices in " + ", ".join(book.currencies))
    return currency


def no_price_error(book: PriceBook, offer: Offer, tier: Tier, token_type: str, currency: str) -> Exception:
    """Why a token type has no price here: the model does not price it, or not in this currency."""
    if token_type not in tier.token_types:
        return UnknownTokenType(f"{offer.model} does not price '{token_type}' tokens",
                                did_you_mean(token_type, tier.token_types)
                                or "it prices: " + ", ".join(tier.token_types))
    have = sorted(c for c, prices in tier.prices.items() if token_type in prices)
    return NoPriceInCurrency(
        f"{book.name} has no {currency} price for {offer.model} {token_type} tokens in {offer.region.id} "
        f"(tier {tier.label})", "prices here are in " + (", ".join(have) or "no currency"))


def quote(book: PriceBook, region: str, model: str, tokens: Mapping[str, int], requests: int = 1,
          currency: str | None = None, at: datetime | str | None = None) -> Quote:
    """Price `requests` identical requests of `tokens` each.

    Written as one flat function on purpose: it is the hot path, and each
    helper call would cost a measurable share of a quote.
    """
    offer = book.offers.get((model, book.place_lookup.get(region)))
    if offer is None:
        offer = find_offer(book, region, model)
    if type(requests) is not int or requests < 1:
        _check_counts(tokens, requests)
    if at is None and not offer.dated:
        moment, table = None, offer.tables[0]
    else:
        moment = to_moment(book, at)
        table = table_at(book, offer, moment)
    currency = book.currency if currency is None else require_currency(book, currency)
    selected = tokens.get(offer.selector, 0)
    tiers = table.tiers
    try:
        index = bisect_left(table.uppers, selected)
    except TypeError:  # not a number: say so (every count is checked in the loop below)
        _check_counts(tokens, requests)
    if index == len(tiers):
        raise _beyond_highest_tier(table, offer, selected)
    tier = tiers[index]
    prices = tier.prices.get(currency, _NO_PRICES)
    asked = tuple(tokens.items())  # the lines are built from this when asked for
    units = 0  # the cost in units of 10 ** price.exponent, summed in integers: exact and cheap
    for token_type, count in asked:
        if type(count) is not int or count < 0:
            _check_counts(tokens, requests)
        price = prices.get(token_type)
        if price is None:
            if token_type not in tier.not_billed:
                raise no_price_error(book, offer, tier, token_type, currency)
            continue
        units += price.numerator * count
        exponent = price.exponent  # the same for every price of a tier and currency
    list_total = Decimal(units * requests).scaleb(exponent, EXACT) if units else ZERO
    total, credits = list_total, ()
    trial = book.trial
    if trial is not None and moment is not None and moment < trial.until and list_total:
        credits = (Credit("trial", trial.reason, -list_total),)
        total = ZERO
    return _new_quote(Quote, (book.name, offer.region.id, model, currency, tier, requests, asked,
                              list_total, credits, total, total.quantize(book.quantum, book.round_mode, ROUNDING),
                              book.unit_label))


_NO_PRICES: Mapping = {}
