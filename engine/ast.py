"""The typed syntax tree of a `.rules` file.

`build.py` produces these nodes as the parser reads; `check.py` inspects them
and `compile.py` turns them into lookup tables. Every node is a frozen, slotted
attrs class with a `span`, so any later stage can point at the exact line and
column of a mistake. Number literals are exact `Decimal`s with their `K`/`M`
multiplier already applied, and keep the text as written.

A big book has hundreds of thousands of nodes, so they are kept small: a
single token (a `Name`, `Number` or `Moment`) keeps its position inline and
makes its `Span` when asked, and so do the nodes whose span runs from the
start of their first part to the end of their last (a `Price`, a `Rate`, a
`TierRow`, a `TokenCount`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Union

import attrs

from .source import Span

node = attrs.frozen(slots=True, weakref_slot=False)


def _token_span(token) -> Span:
    """The span of a one-token node: a token never spans lines."""
    return Span(token.path, token.line, token.column, token.line, token.end_column)


def _reach(start, last_token) -> Span:
    """From the start of `start` (a one-token node or a span) to the end of a one-token node."""
    return Span(start.path, start.line, start.column, last_token.line, last_token.end_column)


@node
class Name:
    text: str
    path: str
    line: int
    column: int
    end_column: int

    span = property(_token_span)


@node
class Number:
    value: Decimal
    text: str
    path: str
    line: int
    column: int
    end_column: int

    span = property(_token_span)


@node
class Moment:
    """A date or date-time literal as written; its zone is settled by compile."""

    text: str
    path: str
    line: int
    column: int
    end_column: int

    span = property(_token_span)


@node
class Include:
    path: str
    span: Span


@node
class RegionDecl:
    id: Name
    display_names: tuple[str, ...]
    span: Span


@node
class SourceRef:
    text: str
    span: Span


@node
class Currencies:
    codes: tuple[Name, ...]
    span: Span


@node
class PriceUnit:
    tokens: Number | None  # None: `price per token`
    span: Span


@node
class Cycle:
    period: Name
    zone: Name
    span: Span


@node
class Rounding:
    places: Number
    mode: Name
    span: Span


@node
class Effective:
    start: Moment | None
    end: Moment | None
    span: Span


@node
class Group:
    name: Name
    members: tuple[Name, ...]
    span: Span


@node
class VariantValue:
    """`batch`, or `batch * 0.5`: one value of a variant field, with the multiplier every model gets."""

    name: Name
    multiplier: Number | None
    span: Span


@node
class VariantField:
    """`variant service_tier = flex, priority * 2`: a usage field whose value picks a variant of the prices."""

    name: Name
    values: tuple[VariantValue, ...]
    span: Span


@node
class Exclusive:
    """`exclusive processing, service_tier`: variant fields one request may not combine."""

    fields: tuple[Name, ...]
    span: Span


@node
class TimeWindow:
    """`window off-peak = 16:30 to 00:30 in UTC`, or `weekend = sat 00:00 to mon 00:00 in UTC+8`, optionally
    `* 0.5`: a time of day (or of the week) whose requests a model may price apart, as a variant chosen by time."""

    name: Name
    start_day: Name | None
    start: Name  # `16:30`
    end_day: Name | None
    end: Name
    zone: Name
    multiplier: Number | None
    span: Span


@node
class Price:
    """`0.000480`, `CNY 0.0034`, or a price change: `0.000400 from 2026-07-01`."""

    currency: Name | None  # None: the book's first currency
    amount: Number
    since: Moment | None = None  # in force from this moment on (until the next change); None: from the table's start

    @property
    def span(self) -> Span:
        return _reach(self.currency or self.amount, self.since or self.amount)


@node
class RateUnit:
    """`per 1K searches`, `per request`, `per 1M tokens`: what one rate's price is for."""

    size: Number | None  # None: per one
    word: Name  # the unit as written, singular or plural
    span: Span


@node
class Rate:
    """`input 0.5, CNY 3.6`, `web_search 10 per 1K searches`, or `output not billed`."""

    token_type: Name  # the meter: a token type, or what another unit counts (`web_search`)
    prices: tuple[Price, ...]  # empty when not billed
    not_billed: Name | None  # the word `billed` of `not billed` (it ends the span), or None
    unit: RateUnit | None = None  # None: the model's or the book's price unit (tokens)

    @property
    def billed(self) -> bool:
        return self.not_billed is None

    @property
    def last_token(self) -> Name | Number | Moment:
        if self.unit is not None:
            return self.unit.word
        return self.not_billed or self.prices[-1].since or self.prices[-1].amount

    @property
    def span(self) -> Span:
        return _reach(self.token_type, self.last_token)


@node
class Bounds:
    """`lower < T <= upper`, or `lower < T` when upper is None."""

    lower: Number
    upper: Number | None
    span: Span


@node
class TierRow:
    bounds: Bounds | None  # None: one flat rate for every request size
    rates: tuple[Rate, ...]

    @property
    def span(self) -> Span:
        return _reach(self.rates[0].token_type if self.bounds is None else self.bounds.span, self.rates[-1].last_token)


@node
class RateTable:
    places: tuple[Name, ...]  # groups or region IDs
    effective: Effective | None
    rows: tuple[TierRow, ...]
    span: Span


@node
class Selector:
    """`tier by input + cache_read tokens per request`: the token types whose per-request sum chooses the tier."""

    token_types: tuple[Name, ...]
    span: Span


@node
class Alias:
    """`alias claude-sonnet-4-5-20250929, anthropic/claude-sonnet-4.5`: other names usage may give the model."""

    names: tuple[Name, ...]
    span: Span


@node
class ModelVariant:
    """`variant priority * 2`, or `variant flex { api { input 0.625 } }`: a model's prices in one variant. Own
    rates replace the model's for the rates they name; a multiplier scales every rate."""

    name: Name
    multiplier: Number | None
    tables: tuple["RateTable", ...]
    span: Span


@node
class Model:
    name: Name
    title: str | None
    selectors: tuple[Selector, ...]
    tables: tuple[RateTable, ...]
    span: Span
    aliases: tuple[Alias, ...] = ()
    price_units: tuple[PriceUnit, ...] = ()  # `price per 1K tokens` for this model's token rates
    variants: tuple[ModelVariant, ...] = ()

    def alias_names(self) -> tuple[Name, ...]:
        return tuple(name for alias in self.aliases for name in alias.names)

    def token_types(self) -> tuple[str, ...]:
        """Every token type the model's rate tables name, in order of first appearance."""
        seen: dict[str, None] = {}
        for table in self.tables:
            for row in table.rows:
                for rate in row.rates:
                    seen.setdefault(rate.token_type.text)
        return tuple(seen)


@node
class QuotaFree:
    tokens: Number
    span: Span


@node
class QuotaWindow:
    length: Number
    unit: Name
    span: Span


@node
class QuotaConsume:
    token_types: tuple[Name, ...]
    span: Span


@node
class Quota:
    name: Name
    title: str | None
    clauses: tuple[Union[QuotaFree, QuotaWindow, QuotaConsume], ...]
    span: Span

    def clause(self, kind: type) -> list:
        return [c for c in self.clauses if isinstance(c, kind)]


@node
class Trial:
    until: Moment
    reason: str | None
    span: Span


@node
class TokenCount:
    token_type: Name
    count: Number

    @property
    def span(self) -> Span:
        return _reach(self.token_type, self.count)


@node
class Example:
    title: str
    place: Name  # a region ID or display name
    model: Name
    tokens: tuple[TokenCount, ...]
    requests: Number | None
    at: Moment | None
    currency: Name
    expected: Number
    span: Span
    variant: tuple[Name, ...] = ()  # `variant flex`: the variant values the example is priced in


BookStatement = Union[
    SourceRef, Currencies, PriceUnit, Cycle, Rounding, Effective, RegionDecl,
    Group, Model, Quota, Trial, Example, VariantField, Exclusive, TimeWindow,
]


@node
class Book:
    name: Name
    title: str | None
    body: tuple[BookStatement, ...]
    span: Span

    def all(self, kind: type) -> list:
        """Every statement of one kind, in source order."""
        return [s for s in self.body if isinstance(s, kind)]


@node
class RulesFile:
    path: str
    items: tuple[Union[Include, RegionDecl, Book], ...]
    span: Span

    def all(self, kind: type) -> list:
        return [i for i in self.items if isinstance(i, kind)]
