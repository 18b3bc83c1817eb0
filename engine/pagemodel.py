"""The price page of a book, as data: what the seed documents show, taken from the compiled book.

Takes a compiled `PriceBook` (and optionally one currency to show) and gives a
`Page`: the billing rules, cycle and zone, per model a price table per region
group (regions with their IDs and display names, tiers with their labels and
exact integer bounds, a price per pricing unit and currency), not-billed token
types, the quota and trial notes, effective dates, each worked example with its
computation written out the way the documents write it, and per table the
points of a chart of a request's cost against its size. Every number on the
page is read from the book or computed by the engine (`book.quote`), so the
page cannot disagree with the book.

`pagehtml.py` and `pagemarkdown.py` render a `Page`; `page.py` is the API.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from .billing import largest_remainder
from .errors import PricingError, RatecardError
from .examples import failure
from .explain import mode_text, quota_terms, range_text, region_sets, tier_bounds, tiering
from .moments import MINUTE_US, WINDOW_FIELD, format_zone, instant_of
from .money import plain, round_amount
from .quote import Quote
from .tables import (
    Example,
    Offer,
    PriceBook,
    Region,
    Tier,
    TierTable,
    model_aliases,
    rate_unit_of,
    resolve_region,
    selector_text,
    single_variants,
    windows_at,
)

frozen = attrs.frozen(slots=True)

#: The chart's request: N tokens of the model's tier selector and, when the model has output tokens, one output
#: token for every OUTPUT_RATIO of them (rounded down).
OUTPUT_RATIO = 5
NO_PRICE = "—"


class UnknownPageCurrency(RatecardError):
    """The page was asked for a currency the book has no prices in."""

    code = "E520"


@frozen
class PriceColumn:
    token_type: str
    currency: str | None  # None: the token type is billed in no tier of the table (one "not billed" column)
    name: str  # `Input price`
    unit: str  # `USD/1K tokens`; empty for a column that is not billed

    @property
    def heading(self) -> str:
        return f"{self.name} ({self.unit})" if self.unit else self.name


@frozen
class PriceCell:
    token_type: str
    currency: str | None
    price: Decimal | None  # per pricing unit, as written; None when not billed or no price in the currency
    billed: bool

    @property
    def text(self) -> str:
        if not self.billed:
            return "not billed"
        return NO_PRICE if self.price is None else str(self.price)


@frozen
class TierRow:
    tier: Tier
    range: str  # as written: `0 < T <= 128K`
    bounds: str  # exact: `0 < T <= 128,000`
    cells: tuple[PriceCell, ...]


@frozen
class ChartPoint:
    tokens: int  # of the tier selector, per request
    cost: Decimal  # exact list price of the request, from `book.quote`


@frozen
class ChartSeries:
    tier: Tier
    points: tuple[ChartPoint, ...]


@frozen
class Chart:
    currency: str
    request: str  # what a request of size N is: `N input tokens and N/5 output tokens (rounded down)`
    selector: str
    low: int  # the x axis: request sizes from low to high
    high: int
    bounds: tuple[int, ...]  # tier bounds within the axis
    series: tuple[ChartSeries, ...]


@frozen
class PriceTable:
    in_force: str  # `always`, or `from ... until ...`
    dated: bool
    selector: str  # what chooses the tier: `input`, or a sum `input + cache_read`
    flat: bool  # one rate for every request size: no token range column
    columns: tuple[PriceColumn, ...]
    rows: tuple[TierRow, ...]
    chart: Chart | None
    missing_currencies: tuple[str, ...]  # shown currencies some billed cell has no price in


@frozen
class RegionGroup:
    group: str | None  # the book's group name, when the regions are exactly one group
    regions: tuple[Region, ...]
    tables: tuple[PriceTable, ...]

    @property
    def heading(self) -> str:
        return f"Group {self.group}" if self.group else "Regions " + ", ".join(r.id for r in self.regions)


@frozen
class ModelSection:
    name: str
    aliases: tuple[str, ...]  # other names usage may give the model
    tiering: str  # `tier chosen by input tokens per request`, or one flat rate
    not_billed: tuple[str, ...]  # token types billed nowhere for this model
    groups: tuple[RegionGroup, ...]


@frozen
class Note:
    kind: str  # "quota" or "trial"
    title: str
    text: str


@frozen
class WorkedExample:
    example: Example
    conditions: tuple[tuple[str, str], ...]  # (what, value), as the documents list billing conditions
    steps: tuple[str, ...]  # the computation, one line each; empty when the example cannot be priced
    quote: Quote | None
    problem: str | None  # why the book does not give what the example expects, or None

    @property
    def result(self) -> str:
        """The rounded total with its currency, as `ratecard quote` prints it: `USD 0.000389`."""
        return "" if self.quote is None else f"{self.quote.currency} {self.quote.total_rounded}"


@frozen
class Page:
    book: PriceBook
    currencies: tuple[str, ...]  # shown
    rules: tuple[str, ...]  # the billing rules, one sentence each
    facts: tuple[tuple[str, str], ...]  # (feature, description), as the documents' billing table
    notes: tuple[Note, ...]
    models: tuple[ModelSection, ...]
    examples: tuple[WorkedExample, ...]


def build_page(book: PriceBook, currency: str | None = None) -> Page:
    """The price page of `book`, with prices in every currency of the book or only in `currency`."""
    if currency is not None and currency not in book.currencies:
        raise UnknownPageCurrency(f"{book.name} has no prices in {currency!r}",
                                  "it prices in " + ", ".join(book.currencies))
    currencies = (currency,) if currency else book.currencies
    return Page(book, currencies, _rules(book), _facts(book), _notes(book),
                tuple(section for model in book.models for section in _sections(book, model, currencies)),
                tuple(_worked_example(book, example) for example in book.examples))


# --- the page's parts -------------------------------------------------------------------------------

def display_range(text: str) -> str:
    """A tier range as the documents print it: `0 < T ≤ 128K`."""
    return text.replace("<=", "≤")


def moment_text(moment: datetime, zone) -> str:
    """A moment in the book's zone, as the documents write one: `2026-04-08 00:00 UTC+8`."""
    local = moment.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {format_zone(zone)}"


def _rules(book: PriceBook) -> tuple[str, ...]:
    unit = f" ÷ {book.unit_tokens:,}" if book.unit_tokens != 1 else ""
    rules = [(f"Cost of a request = tokens × unit price{unit} for each token type, added up. Each region, model and "
             f"token type has its own unit price, per {book.unit_label}.")]
    selectors = sorted({selector_text(offer.selector) for offer in book.offers.values()
                        if any(t.label != "all" for table in offer.tables for t in table.tiers)})
    if selectors:
        rules.append(f"A tier is chosen for each request by that request's own {' or '.join(selectors)} tokens, "
                     "and the whole request, every token type, is priced at that tier's rates. Tiers are not "
                     "graduated: no part of a request is priced at another tier's rates.")
        rules.append("A usage record of N identical requests is tiered by the tokens of one request.")
        if any(table.tiers[-1].upper is not None for offer in book.offers.values() for table in offer.tables):
            rules.append("A request beyond the highest tier is not priced: split it.")
    if book.units:
        rules.append("Some prices are for another unit than tokens: the unit is shown with each of them. A price per "
                     "request is a fee that each request pays once.")
    rules += _variant_rules(book)
    rules.append("A request can be priced in a currency only where a price in that currency is shown.")
    return tuple(rules)


def _variant_rules(book: PriceBook) -> list[str]:
    rules = []
    fields = [field for field in book.variant_fields if field != WINDOW_FIELD]
    if fields:
        rules.append(f"A request may name a variant of its price by its {', '.join(fields)}. A section headed "
                     "by the model and the variant in brackets (model [variant]) shows that variant's prices: its "
                     "own rates, or the model's times its multiplier. A request naming several (or naming one, in "
                     "a time window) is priced, rate by rate, at the own rate of the first of them in the order "
                     f"{', '.join(book.variant_fields)}, else the model's, times every multiplier.")
        for excluded in book.exclusive:
            named = [field for field in book.variant_fields if field in excluded and field != WINDOW_FIELD]
            if WINDOW_FIELD in excluded:
                rules.append(f"A request that names a {' or a '.join(named)} pays no time window's prices.")
            if len(named) > 1:
                rules.append(f"No request names both a {' and a '.join(named)}.")
    if book.windows:
        rules.append("A request made in a time window is priced at the window's prices where its model has them "
                     "(a section model [window]), else at the model's own. The time of the request chooses the "
                     "window: from its start, to the minute, up to but not including its end.")
    return rules


def _facts(book: PriceBook) -> tuple[tuple[str, str], ...]:
    zone = format_zone(book.zone)
    cycle = (f"Fees are calculated hourly, on the hour ({zone}): each cycle is [HH:00, HH+1:00) of {zone} "
             "wall-clock time, and a bill is made at its end." if book.cycle == "hourly" else
             f"Fees are calculated daily, from midnight to midnight in {zone}; a bill is made at the end of each day.")
    facts = [("Billing cycle", cycle),
             ("Pricing unit", f"{book.unit_label} ({book.unit_tokens:,} token{'s' if book.unit_tokens != 1 else ''})"),
             ("Currencies", ", ".join(book.currencies)),
             ("Rounding", (f"Amounts are shown rounded to {book.round_places} decimals, {mode_text(book.round_mode)}; "
                          "the exact amount is kept beside the rounded one")),
             ("In force", range_text(book.start, book.end).capitalize())]
    if book.source:
        facts.append(("Source", book.source))
    for window in book.windows:
        multiplier = f"; every model's prices × {window.multiplier}" if window.multiplier is not None else ""
        facts.append((f"Time window {window.name}", f"{window.window.every}, {window.window.describe()}{multiplier}"))
    multiplied = [(name, variant) for name, variant in book.variants.items()
                  if variant.multiplier is not None and variant.field != WINDOW_FIELD]
    if multiplied:
        facts.append(("Variant multipliers", "; ".join(f"{variant.field} {name}: every model's prices × "
                                                        f"{variant.multiplier}" for name, variant in multiplied)))
    return tuple(facts)


def _notes(book: PriceBook) -> tuple[Note, ...]:
    notes = []
    if book.quota:
        notes.append(Note("quota", book.quota.title,
                          f"{quota_terms(book.quota)}. Usage beyond the quota is billed at the standard rate, at "
                          "the tier of its own request; bills show the usage at list price and the quota as a "
                          "credit."))
    if book.trial:
        notes.append(Note("trial", "Free trial",
                          f"Usage before {moment_text(book.trial.until, book.zone)} costs nothing "
                          f"({book.trial.reason})."))
    return tuple(notes)


def _sections(book: PriceBook, model: str, currencies: tuple[str, ...]) -> list[ModelSection]:
    """The model's section, then one per variant it prices on its own (`gpt-5 [flex]`), with its prices."""
    return [_model(book, model, currencies),
            *(_model(book, model, currencies, (value,)) for value in single_variants(book, model))]


def _model(book: PriceBook, model: str, currencies: tuple[str, ...], variant: tuple[str, ...] = ()) -> ModelSection:
    groups = []
    for region_set in region_sets(book, model, variant):
        regions = tuple(book.regions[region] for region in region_set.regions)
        tables = tuple(_table(book, model, regions[0], table, currencies, variant) for table in region_set.tables)
        groups.append(RegionGroup(region_set.group, regions, tables))
    token_types = book.models[model]
    billed_somewhere = {t for group in groups for table in group.tables for row in table.rows
                        for t in row.tier.token_types if t not in row.tier.not_billed}
    name = model + "".join(f" [{v}]" for v in variant)
    return ModelSection(name, () if variant else model_aliases(book, model), tiering(book, model),
                        tuple(t for t in token_types if t not in billed_somewhere), tuple(groups))


def _table(book: PriceBook, model: str, region: Region, table: TierTable, currencies: tuple[str, ...],
           variant: tuple[str, ...] = ()) -> PriceTable:
    token_types = list(dict.fromkeys(t for tier in table.tiers for t in tier.token_types))
    columns = []
    for token_type in token_types:
        name = type_name(token_type)
        tier = next(tier for tier in table.tiers if token_type in tier.token_types)
        unit, pricing_unit = rate_unit_of(tier, token_type, book.unit_label)
        if all(token_type in tier.not_billed or token_type not in tier.token_types for tier in table.tiers):
            columns.append(PriceColumn(token_type, None, f"{name} {unit}", ""))
            continue
        # A column per shown currency the table has a price in; with none of them, the first, empty (all "—").
        priced = [c for c in currencies if any(token_type in tier.prices.get(c, {}) for tier in table.tiers)]
        columns += [PriceColumn(token_type, currency, f"{name} price", f"{currency}/{pricing_unit}")
                    for currency in priced or currencies[:1]]
    rows = tuple(TierRow(tier, tier.label, tier_bounds(tier), tuple(_cell(tier, column) for column in columns))
                 for tier in table.tiers)
    missing = tuple(c for c in currencies if any(cell.currency == c and cell.billed and cell.price is None
                                                 for row in rows for cell in row.cells))
    return PriceTable(range_text(table.start, table.end), table.start is not None or table.end is not None,
                      selector_text(book.offers[(model, region.id)].selector),
                      all(tier.label == "all" for tier in table.tiers), tuple(columns), rows,
                      _chart(book, model, region, table, currencies[0], variant), missing)


def _cell(tier: Tier, column: PriceColumn) -> PriceCell:
    if column.currency is None or column.token_type in tier.not_billed:
        return PriceCell(column.token_type, column.currency, None, False)
    price = tier.prices.get(column.currency, {}).get(column.token_type)
    return PriceCell(column.token_type, column.currency, None if price is None else price.per_unit, True)


# --- the chart: a request's cost against its size, by the engine -------------------------------------------

def _chart(book: PriceBook, model: str, region: Region, table: TierTable, currency: str,
           variant: tuple[str, ...] = ()) -> Chart | None:
    offer = book.offers[(model, region.id)]
    # N tokens of the selector's first type make a request whose selector sum is N.
    first_type, selector = offer.selector[0], selector_text(offer.selector)
    with_output = "output" in book.models[model] and "output" not in offer.selector
    bounds = [tier.upper for tier in table.tiers if tier.upper is not None]
    # From two decades below the smallest bound to the top bound (an open top tier: a decade past its start).
    low = 10 ** max(0, int(math.log10(min(bounds))) - 2) if bounds else 100
    top = table.tiers[-1]
    if top.upper is not None:
        high = top.upper
    else:
        high = 10 * top.lower if bounds else 1_000_000
    at = _chart_moment(book, offer, table, variant)
    if at is None and offer.windows:
        return None  # no time when the section's prices apply while the table is in force
    series = []
    for tier in table.tiers:
        first, last = max(tier.lower + 1, low), min(high if tier.upper is None else tier.upper, high)
        if first > last:
            continue
        points = []
        for tokens in _sizes(first, last):
            request = {first_type: tokens} | ({"output": tokens // OUTPUT_RATIO} if with_output else {})
            try:
                cost = book.quote(region=region.id, model=model, tokens=request, currency=currency, at=at,
                                  variants=variant).list_total
            except PricingError:  # no price in this currency here: the tier is left out of the chart
                break
            if cost > 0:
                points.append(ChartPoint(tokens, cost))
        if len(points) >= 2:
            series.append(ChartSeries(tier, tuple(points)))
    if not series:
        return None
    request = f"N {first_type} tokens" + (f" and N/{OUTPUT_RATIO} output tokens (rounded down)" if with_output else "")
    return Chart(currency, request, selector, low, high, tuple(b for b in bounds if low < b < high), tuple(series))


def _sizes(first: int, last: int, count: int = 6) -> list[int]:
    """Request sizes from `first` to `last`, evenly spaced on a log scale."""
    if first == last:
        return [first]
    step = (math.log10(last) - math.log10(first)) / (count - 1)
    sizes = {first, last} | {round(10 ** (math.log10(first) + i * step)) for i in range(1, count - 1)}
    return sorted(size for size in sizes if first <= size <= last)


def _moment_within(book: PriceBook, table: TierTable) -> datetime | None:
    """A moment at which the table (and the book) is in force; None (now) when neither is dated."""
    starts = [moment for moment in (table.start, book.start) if moment is not None]
    if starts:
        return max(starts)
    ends = [moment for moment in (table.end, book.end) if moment is not None]
    return min(ends) - timedelta(seconds=1) if ends else None


def _chart_moment(book: PriceBook, offer: Offer, table: TierTable, variant: tuple[str, ...]) -> datetime | None:
    """When to quote the chart of `variant`'s prices (the model's own: none): the table's moment, or for a model
    that prices time windows the first moment from it in the variant's window (or in none of the model's, for its
    own section) while the table and the book are in force, so that the chart shows the prices of its section
    whatever the time the page is made. Such a moment is the table's moment or an edge of a window; None (no
    chart) when there is none."""
    if not offer.windows:
        return _moment_within(book, table)
    wanted = next((name for name in variant if name in offer.windows), None)
    starts = [start for start in (table.start, book.start) if start is not None]
    ends = [end for end in (table.end, book.end) if end is not None]
    # from the first minute in force, or a week (a window's longest period) before its end, or now
    start = max(starts) if starts else min(ends) - timedelta(days=7) if ends else datetime.now(book.zone)
    start = start.replace(second=0, microsecond=0)
    minute = instant_of(start) // MINUTE_US
    candidates = {start}
    for window in book.windows:
        if window.name in offer.windows and (wanted is None or window.name == wanted):
            clock = window.window
            for edge in (clock.start, clock.end):
                candidates.add(start + timedelta(minutes=(edge - clock.local_minute(minute)) % clock.period))
    for at in sorted(candidates):
        inside = windows_at(book, at)
        if (wanted in inside if wanted else not any(name in offer.windows for name in inside)) \
                and all(at < end for end in ends):
            return at
    return None


# --- worked examples ------------------------------------------------------------------------------

def _worked_example(book: PriceBook, example: Example) -> WorkedExample:
    failed = failure(book, example)
    problem = None if failed is None else failed.message
    region = quote = None
    try:
        region = book.regions[resolve_region(book, example.place)]
        quote = book.quote(region=example.place, model=example.model, tokens=dict(example.tokens),
                           requests=example.requests, currency=example.currency, at=example.at)
    except PricingError:  # the page shows the example with the reason (`problem`) and no computation
        return WorkedExample(example, _conditions(book, example, region, None), (), None, problem)
    steps = _calls_steps(book, quote) if example.requests > 1 else _itemised_steps(book, quote)
    return WorkedExample(example, _conditions(book, example, region, quote), steps, quote, problem)


def _conditions(book: PriceBook, example: Example, region: Region | None, quote: Quote | None
                ) -> tuple[tuple[str, str], ...]:
    if region is None:
        rows = [("Region", example.place)]
    else:
        rows = [("Region", region.name), ("Region ID", region.id)]
    rows.append(("Model", example.model))
    if example.requests > 1:
        rows.append(("Calls", f"{example.requests:,}"))
    per = " per call" if example.requests > 1 else ""
    rows += [(f"{type_name(token_type)} tokens{per}", f"{count:,}")
             for token_type, count in example.tokens]
    if example.at is not None:
        rows.append(("At", moment_text(example.at, book.zone)))
    if quote is not None:
        tier = "one rate for every request size" if quote.tier.label == "all" else \
            f"tier {quote.tier.index}: {display_range(quote.tier.label)}"
        rows.append(("Tier", tier))
    return tuple(rows)


def _itemised_steps(book: PriceBook, quote: Quote) -> tuple[str, ...]:
    """The AI Function document's way: `Cost = Input Cost + Output Cost`, `= 0.000480 × 750/1000 + ...`,
    the rounded cost of each type (adding up to the total, as a bill's lines do), `= USD 0.000389`."""
    lines = [line for line in quote.lines if line.billed]
    if not lines:
        return ("Cost = 0 (no token type of this request is billed)",)
    per_unit = f"/{book.unit_tokens}" if book.unit_tokens != 1 else ""
    steps = ["Cost = " + " + ".join(f"{type_name(line.token_type)} Cost" for line in lines),
             "= " + " + ".join(f"{line.unit_price} × {line.tokens}{per_unit}" for line in lines)]
    if len(lines) > 1:
        steps.append("= " + " + ".join(str(amount) for amount in _rounded_parts(book, quote, lines)))
    return tuple(steps + _total_steps(book, quote, lambda amount: f"{quote.currency} {amount}"))


def _calls_steps(book: PriceBook, quote: Quote) -> tuple[str, ...]:
    """The AI Center document's way, for N calls: `0.00096 × 260 × 10000 ÷ 1000 + ... = 3.696 CNY`."""
    per_request = dict(quote.tokens)
    per_unit = f" ÷ {book.unit_tokens}" if book.unit_tokens != 1 else ""
    formula = " + ".join(f"{line.unit_price} × {per_request[line.token_type]} × {quote.requests}{per_unit}"
                         for line in quote.lines if line.billed) or "0"
    first, *rest = _total_steps(book, quote, lambda amount: f"{plain(amount)} {quote.currency}")
    return (f"{formula} {first}", *rest)


def _total_steps(book: PriceBook, quote: Quote, money: Callable[[Decimal], str]) -> list[str]:
    """`= total`; with credits (a free trial), the list price, each credit, then the total."""
    if not quote.credits:
        return [f"= {money(quote.total_rounded)}"]
    listed = round_amount(quote.list_total, book.quantum, book.round_mode)
    return ([f"= {money(listed)} at list price"]
            + [f"- {money(round_amount(-credit.amount, book.quantum, book.round_mode))} {credit.kind} credit: "
               f"{credit.reason}" for credit in quote.credits]
            + [f"= {money(quote.total_rounded)}"])


def _rounded_parts(book: PriceBook, quote: Quote, lines) -> list[Decimal]:
    """Each line's amount rounded, adjusted as a bill's lines are so that they add up to the rounded list price."""
    amounts = [line.amount for line in lines]
    target = round_amount(quote.list_total, book.quantum, book.round_mode)
    rounded = [round_amount(amount, book.quantum, book.round_mode) for amount in amounts]
    for position, step in largest_remainder(amounts, target, book.quantum, book.round_mode):
        rounded[position] += step * book.quantum
    return rounded


def type_name(token_type: str) -> str:
    """A token type as a heading writes it: `cached_input` is `Cached input`."""
    return token_type.replace("_", " ").capitalize()
