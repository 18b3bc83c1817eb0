"""The compiled price book: immutable lookup tables.

`compile.py` gives a `PriceBook`; `quote.py` and `billing.py` read it. Nothing
here walks the AST: a quote is a dict lookup for the region, one for the model,
and a bisect over a table's tier upper bounds. Every table is a frozen, slotted
attrs class. The mappings a quote reads (`offers`, `place_lookup`, a tier's
`prices`) are plain dicts, built once and never written after compile: a
read-only proxy would cost a measurable share of every quote. The others are
read-only proxies.
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Iterable, Mapping

import attrs

from . import quote as quoting
from .source import Span

frozen = attrs.frozen(slots=True)


@frozen
class Region:
    id: str
    display_names: tuple[str, ...]

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
    span: Span

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "label": self.label, "lower": self.lower, "upper": self.upper}


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
    """Everything needed to price one model in one region. Compared and hashed by identity."""

    model: str
    region: Region
    selector: str  # the token type whose per-request count chooses the tier
    tables: tuple[TierTable, ...]
    dated: bool  # False when no date matters: one undated table, and an undated book with no trial


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

    #: Price one request (or `requests` identical ones): `ratecard.quote.quote`.
    quote = quoting.quote

    def rate(self, record, currency: str | None = None):
        """Place one usage record on the bill: its cycle, tier and tokens. See `ratecard.rating.rate`."""
        from .rating import rate
        return rate(self, record, currency)

    def bill(self, records: Iterable, currency: str | None = None, **options):
        """Bill usage records. See `ratecard.billing.bill`."""
        from .billing import bill
        return bill(self, records, currency=currency, **options)


def unit_label(tokens: int) -> str:
    if tokens == 1:
        return "token"
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if tokens % size == 0:
            return f"{tokens // size}{suffix} tokens"
    return f"{tokens} tokens"


def readonly(mapping: dict) -> Mapping:
    """A read-only view, for tables that are not on the quote path."""
    return MappingProxyType(mapping)
