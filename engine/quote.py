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

from .errors import InvalidArgument, InvalidTokens, NotEffective
from .limits import EARLIEST, LATEST, MAX_REQUESTS, MAX_TOKENS, TIME_RANGE
from .locations import location
from .moments import parse_moment
from .money import EXACT, ROUNDING, ZERO, plain
from .tables import (
    NO_PRICES,
    beyond_highest_tier,
    fee_given,
    find_offer,
    no_price_error,
    rate_unit_of,
    require_currency,
    table_at,
    variant_offer,
    windows_at,
)

if TYPE_CHECKING:
    from .source import Span
    from .tables import PriceBook, Tier

_multiply = EXACT.multiply
_new_quote = tuple.__new__  # skips NamedTuple's Python-level __new__ on the hot path


class QuoteLine(NamedTuple):
    token_type: str  # the meter: a token type, or what another unit counts (`web_search`, a fee `request`)
    tokens: int  # all requests together, in `unit`
    unit_price: Decimal  # per pricing unit, as written in the book
    amount: Decimal  # exact
    billed: bool = True
    source: Span | None = None  # where the book writes the rate: `input 0.000480`, or `output not billed`
    unit: str = "tokens"  # what `tokens` counts: tokens, searches, requests, ...
    pricing_unit: str = ""  # what `unit_price` is for: `1M tokens`, `1K searches`


class Credit(NamedTuple):
    kind: str  # "trial"
    reason: str
    amount: Decimal  # negative
    source: Span | None = None  # the book's trial statement


class Quote(NamedTuple):
    book: str
    region: str
    model: str  # the model's ID, also when it was asked for by an alias
    currency: str
    tier: Tier
    requests: int
    tokens: tuple[tuple[str, int], ...]  # (token type, tokens per request), as asked
    list_total: Decimal  # exact, at list price
    credits: tuple[Credit, ...]
    total: Decimal  # exact, list total plus credits
    total_rounded: Decimal
    pricing_unit: str
    variant: tuple[str, ...] = ()  # the variant values that priced it, in the book's field order

    @property
    def lines(self) -> tuple[QuoteLine, ...]:
        """One line per meter (a fee too): its count over all requests, unit price as written, exact amount."""
        tier, currency = self.tier, self.currency
        prices = tier.prices.get(currency, NO_PRICES)
        lines = []
        for token_type, count in (*self.tokens, *((fee, 1) for fee in tier.fees)):
            unit, pricing_unit = rate_unit_of(tier, token_type, self.pricing_unit)
            price = prices.get(token_type)
            lines.append(
                QuoteLine(token_type, count * self.requests, price.per_unit,
                          _multiply(price.per_token, count * self.requests), True,
                          tier.rate_span(token_type, currency), unit, pricing_unit)
                if price is not None else
                QuoteLine(token_type, count * self.requests, ZERO, ZERO, False, tier.rate_span(token_type), unit,
                          pricing_unit))
        return tuple(lines)

    def line(self, token_type: str) -> QuoteLine:
        return next(line for line in self.lines if line.token_type == token_type)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; money is in strings, never floats."""
        return {
            "book": self.book,
            "region": self.region,
            "model": self.model,
            "variant": list(self.variant),
            "currency": self.currency,
            "pricing_unit": self.pricing_unit,
            "requests": self.requests,
            "tier": self.tier.as_dict(),
            "lines": [
                {"token_type": ln.token_type, "tokens": ln.tokens, "unit": ln.unit, "unit_price": str(ln.unit_price),
                 "pricing_unit": ln.pricing_unit, "amount": plain(ln.amount), "billed": ln.billed,
                 "rate_source": location(ln.source)}
                for ln in self.lines
            ],
            "list_total": plain(self.list_total),
            "credits": [{"kind": c.kind, "reason": c.reason, "amount": plain(c.amount),
                         "rate_source": location(c.source)} for c in self.credits],
            "total": plain(self.total),
            "total_rounded": str(self.total_rounded),
        }


def to_moment(book: PriceBook, at: datetime | str | None) -> datetime:
    """The moment a quote is for: now, an aware datetime, or ISO text (read in the book's zone without an offset)."""
    if at is None:
        return datetime.now(timezone.utc)
    if isinstance(at, str):
        try:
            moment = parse_moment(at, book.zone)
        except ValueError:
            raise NotEffective(f"'{at}' is not a date or time", "write 2026-05-01T10:00+08:00") from None
    elif isinstance(at, datetime):
        moment = at if at.tzinfo is not None and at.utcoffset() is not None else at.replace(tzinfo=book.zone)
    else:
        raise InvalidArgument(f"at must be a datetime or ISO 8601 text, not {type(at).__name__} {at!r}",
                              "pass datetime(2026, 5, 1, 10, tzinfo=...) or '2026-05-01T10:00+08:00'")
    if not EARLIEST <= moment < LATEST:
        raise NotEffective(f"{moment.isoformat()} is out of range", f"quotes are for moments {TIME_RANGE}")
    return moment


def _check_arguments(region: Any, model: Any, tokens: Any, requests: Any) -> None:
    """Say which argument is of the wrong kind (the hot path only looks when something is off)."""
    for name, value in (("region", region), ("model", model)):
        if not isinstance(value, str):
            raise InvalidArgument(f"{name} must be text, not {type(value).__name__} {value!r}",
                                  "pass region='us-east-1', model='qwen-plus'")
    if not isinstance(tokens, Mapping):
        raise InvalidTokens(f"tokens must be a mapping of token type to count, not {type(tokens).__name__}",
                            "pass tokens={'input': 750, 'output': 20}")
    for token_type in tokens:
        if not isinstance(token_type, str):
            raise InvalidTokens(f"token types must be text, not {token_type!r}", "pass tokens={'input': 750}")
    for name, value in (("requests", requests), *((f"{t} tokens", c) for t, c in tokens.items())):
        if type(value) is not int:
            raise InvalidTokens(f"{name} must be a whole number, not {value!r}", "token counts are integers")
        if value < 0:
            raise InvalidTokens(f"{name} must not be negative, got {value}", "token counts are zero or more")
        limit = MAX_REQUESTS if name == "requests" else MAX_TOKENS - 1
        if value > limit:
            raise InvalidTokens(f"{name} is {value:.3e}, more than ratecard prices at once",
                                f"{name} may be at most {limit:,}; split the request")
    if requests < 1:
        raise InvalidTokens("requests must be at least 1", "a quote prices one request or more")


def _selector_sum(tokens: Mapping[str, int], selector: tuple[str, ...]) -> int | None:
    """The sum of the selector's token counts, or None when one is not a count (the caller says which)."""
    counts = [tokens.get(token_type, 0) for token_type in selector]
    return sum(counts) if all(type(count) is int and count >= 0 for count in counts) else None


def quote(book: PriceBook, region: str, model: str, tokens: Mapping[str, int], requests: int = 1,
          currency: str | None = None, at: datetime | str | None = None, variants=()) -> Quote:
    """Price `requests` identical requests of `tokens` each, in the variant `variants` names (a value such as
    "batch", several, or a mapping of variant fields to values; none: the model's own prices).

    Written as one flat function on purpose: it is the hot path, and each
    helper call would cost a measurable share of a quote.
    """
    try:
        region_id = book.place_lookup.get(region)
        offer = book.offers.get((model, region_id)) or book.offers.get((book.aliases.get(model), region_id))
    except TypeError:  # an unhashable region or model: _check_arguments says which
        offer = None
    if offer is None:
        _check_arguments(region, model, tokens, requests)
        offer = find_offer(book, region, model)
    if type(tokens) is not dict or type(requests) is not int or not 1 <= requests <= MAX_REQUESTS:
        _check_arguments(region, model, tokens, requests)
    moment = None
    if variants:  # the time first, as a bill reads a record's timestamp first: a bad one is E108 either way
        moment = to_moment(book, at)
        offer = variant_offer(book, offer, variants, windows_at(book, moment) if book.windows else ())
    if at is None and not offer.dated:
        moment, table = None, offer.tables[0]
    else:
        moment = moment or to_moment(book, at)  # once: "now" read twice could fall on two sides of an edge
        if offer.windows:  # the model's own offer (no variant asked, or none that priced it): its window
            offer = variant_offer(book, offer, (), windows_at(book, moment))
        table = table_at(book, offer, moment)
    currency = book.currency if currency is None else require_currency(book, currency)
    selector = offer.selector
    selected = tokens.get(selector[0], 0) if len(selector) == 1 else _selector_sum(tokens, selector)
    tiers = table.tiers
    if type(selected) is not int:
        _check_arguments(region, model, tokens, requests)
    index = bisect_left(table.uppers, selected)
    if index == len(tiers):
        raise beyond_highest_tier(table, offer, selected)
    tier = tiers[index]
    prices = tier.prices.get(currency, NO_PRICES)
    asked = tuple(tokens.items())  # the lines are built from this when asked for
    units = 0  # the cost in units of 10 ** price.exponent, summed in integers: exact and cheap
    for token_type, count in asked:
        if type(count) is not int or not 0 <= count < MAX_TOKENS:
            _check_arguments(region, model, tokens, requests)
        price = prices.get(token_type)
        if price is None:
            if token_type not in tier.not_billed:
                raise no_price_error(book, offer, tier, token_type, currency)
            continue
        units += price.numerator * count
        exponent = price.exponent  # the same for every price of a tier and currency
    if tier.fees:  # each request pays each fee once
        for fee in tier.fees:
            if fee in tokens:
                raise fee_given(offer, fee)
            price = prices.get(fee)
            if price is None:
                if fee not in tier.not_billed:
                    raise no_price_error(book, offer, tier, fee, currency)
                continue
            units += price.numerator
            exponent = price.exponent
    list_total = Decimal(units * requests).scaleb(exponent, EXACT) if units else ZERO
    total, credits = list_total, ()
    trial = book.trial
    if trial is not None and moment is not None and moment < trial.until and list_total:
        credits = (Credit("trial", trial.reason, EXACT.minus(list_total), trial.span),)
        total = ZERO
    return _new_quote(Quote, (book.name, offer.region.id, offer.model, currency, tier, requests, asked,
                              list_total, credits, total, total.quantize(book.quantum, book.round_mode, ROUNDING),
                              book.unit_label, offer.variant))

