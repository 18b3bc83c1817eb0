"""AST to compiled price book.

Takes a `Program` that `check` found free of errors and gives an immutable
`PriceBook` (`tables.py`): regions and display names folded into one lookup
dict, groups expanded to regions, each model's tiers turned into bisectable
tables per region, prices divided down to exact per-token `Decimal`s, and all
dates resolved to aware datetimes in the book's zone. Equal immutable parts
(a tier's label and token types, a price as written and per token) are built
once and shared, so a big book's tables take memory for what differs only.
"""

from __future__ import annotations

import decimal
import itertools

import attrs
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

from . import ast
from .include import Program
from .moments import (
    DAY_MINUTES,
    DAYS,
    WEEK_MINUTES,
    WINDOW_FIELD,
    ClockWindow,
    parse_clock,
    parse_moment,
    parse_zone,
)
from .places import normalize_place
from .tables import (
    Example,
    Offer,
    PriceBook,
    Quota,
    RateUnit,
    Region,
    Tier,
    TierTable,
    Trial,
    UnitPrice,
    Variant,
    in_force_from,
    readonly,
    unit_label,
)
from .units import BY_WORD, TOKENS, Unit, usage_column

ROUNDING = {
    "half-up": decimal.ROUND_HALF_UP,
    "half-even": decimal.ROUND_HALF_EVEN,
    "half-down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
}

_EXACT = decimal.Context(prec=100, traps=[decimal.Inexact])  # checked prices need at most 66 digits


def compile_program(program: Program) -> PriceBook:
    """The price book of a checked program."""
    return _Compiler(program).book()


class _Compiler:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.ast_book: ast.Book = program.root_file.all(ast.Book)[0]
        cycle = self.ast_book.all(ast.Cycle)[0]
        self.zone = parse_zone(cycle.zone.text)
        self.cycle = cycle.period.text
        self.currencies = tuple(c.text for c in self.ast_book.all(ast.Currencies)[0].codes)
        unit = self.ast_book.all(ast.PriceUnit)[0].tokens
        self.unit_tokens = 1 if unit is None else int(unit.value)
        self.unit_exponent = len(str(self.unit_tokens)) - 1
        self.book_dated = bool(self.ast_book.all(ast.Effective) or self.ast_book.all(ast.Trial))
        self.shared: dict = {}  # (kind, key) -> the one object built for it
        self.per_token: dict[tuple[str, int], tuple[Decimal, int]] = {}  # (price as written, unit exponent) -> ...
        self.meter_units = self.units()
        self.variants = self.variant_values()
        self.variant_fields = tuple(dict.fromkeys(v.field for v in self.variants.values()))  # in statement order
        self.exclusive = tuple(frozenset(n.text for n in e.fields) for e in self.ast_book.all(ast.Exclusive))
        self.model_exponent = self.unit_exponent  # of the model being compiled: its `price per` or the book's

    def share(self, key, build):
        """The object `build()` gives, built once per distinct `key`."""
        found = self.shared.get(key)
        if found is None:
            found = self.shared[key] = build()
        return found

    def moment(self, node: ast.Moment | None):
        return None if node is None else parse_moment(node.text, self.zone)

    def book(self) -> PriceBook:
        book = self.ast_book
        rounding = book.all(ast.Rounding)[0]
        places = int(rounding.places.value)
        effective = book.all(ast.Effective)
        regions = self.regions()
        groups = {g.name.text: tuple(m.text for m in g.members) for g in book.all(ast.Group)}
        models, offers = {}, {}
        for model in book.all(ast.Model):
            models[model.name.text] = model.token_types()
            setting = model.price_units[0].tokens if model.price_units else None
            self.model_exponent = self.unit_exponent if setting is None else len(str(int(setting.value))) - 1
            model_offers = self.offers(model, regions, groups)
            if self.variants:
                model_offers = self.with_variants(model, model_offers, groups)
            for region_id, offer in model_offers.items():
                offers[(model.name.text, region_id)] = offer
        sources = book.all(ast.SourceRef)
        return PriceBook(
            name=book.name.text,
            title=book.title or book.name.text,
            source=sources[0].text if sources else None,
            path=self.program.root,
            currencies=self.currencies,
            currency=self.currencies[0],
            unit_tokens=self.unit_tokens,
            zone=self.zone,
            cycle=self.cycle,
            round_places=places,
            round_mode=ROUNDING[rounding.mode.text],
            quantum=Decimal(1).scaleb(-places),
            unit_label=unit_label(self.unit_tokens),
            start=self.moment(effective[0].start) if effective else None,
            end=self.moment(effective[0].end) if effective else None,
            regions=readonly(regions),
            place_lookup=self.place_lookup(regions),
            groups=readonly(groups),
            models=readonly(models),
            offers=offers,
            quota=self.quota(),
            trial=self.trial(),
            examples=tuple(self.example(e) for e in book.all(ast.Example)),
            source_files=tuple(sorted({p.resolved for p in self.program.probes if p.resolved is not None})),
            group_spans={g.name.text: g.span for g in book.all(ast.Group)},
            aliases=readonly({alias.text: model.name.text for model in book.all(ast.Model)
                              for alias in model.alias_names()}),
            units=readonly(self.meter_units),
            meter_columns=readonly({usage_column(meter, unit): meter for meter, unit in self.meter_units.items()
                                    if not unit.per_request}),
            variant_fields=self.variant_fields,
            variants=readonly(self.variants),
            exclusive=self.exclusive,
            windows=tuple(v for v in self.variants.values() if v.window is not None),
        )

    # -- variants -----------------------------------------------------------

    def variant_values(self) -> dict[str, Variant]:
        """Every variant value, in the order of the statements that declare them: a time window is a value of the
        field `window`."""
        found = {}
        for statement in self.ast_book.body:
            if isinstance(statement, ast.VariantField):
                for value in statement.values:
                    found[value.name.text] = Variant(value.name.text, statement.name.text, _value(value.multiplier),
                                                     value.span)
            elif isinstance(statement, ast.TimeWindow):
                found[statement.name.text] = Variant(statement.name.text, WINDOW_FIELD,
                                                     _value(statement.multiplier), statement.span,
                                                     self.clock_window(statement))
        return found

    @staticmethod
    def clock_window(window: ast.TimeWindow) -> ClockWindow:
        edges = [parse_clock(clock.text) + (0 if day is None else DAYS.index(day.text) * DAY_MINUTES)
                 for day, clock in ((window.start_day, window.start), (window.end_day, window.end))]
        offset = int(parse_zone(window.zone.text).utcoffset(None).total_seconds()) // 60
        return ClockWindow(*edges, DAY_MINUTES if window.start_day is None else WEEK_MINUTES, offset)

    def with_variants(self, model: ast.Model, offers: dict[str, Offer], groups: dict) -> dict[str, Offer]:
        """Each offer of `model` with every combination of variant values it prices (none excluded by the book),
        as offers of their own: the model's tables with the variants' own rates put in, times their multipliers."""
        factors = {v.name.text: v.multiplier.value for v in model.variants if v.multiplier is not None}
        factors.update((name, variant.multiplier) for name, variant in self.variants.items()
                       if variant.multiplier is not None and name not in factors
                       and not any(v.name.text == name for v in model.variants))
        own: dict[str, dict[str, list[TierTable]]] = {}  # value -> region -> its own tables there
        for variant in model.variants:
            for table in variant.tables:
                compiled = self.tier_tables(table)
                for place in table.places:
                    for region_id in groups.get(place.text, (place.text,)):
                        own.setdefault(variant.name.text, {}).setdefault(region_id, []).extend(compiled)
        result = {}
        for region_id, offer in offers.items():
            options = [[None, *(name for name, v in self.variants.items() if v.field == field
                                and (name in factors or region_id in own.get(name, {})))]
                       for field in self.variant_fields]
            combined = {}
            for combo in itertools.product(*options):
                chosen = tuple(name for name in combo if name is not None)
                fields = {self.variants[name].field for name in chosen}
                if chosen and not any(len(fields & excluded) > 1 for excluded in self.exclusive):
                    tables = [sorted(own[name][region_id], key=lambda t: (t.start is not None, t.start))
                              for name in chosen if name in own]
                    factor = Decimal(1)
                    for name in chosen:
                        factor = _EXACT.multiply(factor, factors.get(name, Decimal(1)))
                    combined[chosen] = self.variant_offer(offer, chosen, tables, factor)
            windows = tuple(name for name in self.variants if self.variants[name].window is not None
                            and any(name in combination for combination in combined))
            result[region_id] = (attrs.evolve(offer, variants=combined, windows=windows,
                                              dated=offer.dated or bool(windows)) if combined else offer)
        return result

    def variant_offer(self, base: Offer, chosen: tuple[str, ...], own: list[list[TierTable]], factor: Decimal) -> Offer:
        """`base` in the variant `chosen`: in each period between any of the tables' dates, the model's table with
        the first own rate (in field order) of each rate put in, every price times `factor`."""
        moments = sorted({m for t in (*base.tables, *(t for ts in own for t in ts)) for m in (t.start, t.end)
                          if m is not None})
        edges = [None, *moments, None]
        tables = []
        for start, end in zip(edges, edges[1:]):
            base_table = in_force_from(base.tables, start)
            if base_table is None:
                continue
            parts = tuple(t for t in (in_force_from(ts, start) for ts in own) if t is not None)
            key = ("variant table", id(base_table), tuple(id(p) for p in parts), factor, start, end)
            tables.append(self.share(key, lambda b=base_table, p=parts, s=start, e=end:
                                     self.variant_table(b, p, factor, s, e)))
        dated = base.dated or len(tables) > 1 or any(t.start or t.end for t in tables)
        return Offer(base.model, base.region, base.selector, tuple(tables), dated, chosen)

    def variant_table(self, base: TierTable, own: tuple[TierTable, ...], factor: Decimal, start, end) -> TierTable:
        tiers = tuple(self.variant_tier(tier, [t.tiers[0] if len(t.tiers) == 1 else t.tiers[tier.index - 1]
                                               for t in own], factor) for tier in base.tiers)
        return TierTable(start, end, base.uppers, tiers, base.span)

    def variant_tier(self, base: Tier, own: list[Tier], factor: Decimal) -> Tier:
        source = {t: next((o for o in own if t in o.token_types), base) for t in base.token_types}
        prices = {}
        for currency in dict.fromkeys([*base.prices, *(c for o in own for c in o.prices)]):
            values = {}
            for token_type, tier in source.items():
                price = tier.prices.get(currency, {}).get(token_type)
                if price is None and token_type not in tier.not_billed:  # an own rate in other currencies only
                    price = base.prices.get(currency, {}).get(token_type)
                if price is not None:
                    values[token_type] = (_plain(_EXACT.multiply(price.per_unit, factor)),
                                          _EXACT.multiply(price.per_token, factor))
            if values:
                prices[currency] = unit_prices_of(values)
        spans = {key: span for key, span in base.rate_spans.items() if source.get(key[0], base) is base}
        for tier in own:
            spans.update((key, span) for key, span in tier.rate_spans.items() if source.get(key[0]) is tier)
        units = {meter: unit for meter, unit in base.rate_units.items() if source.get(meter, base) is base}
        for tier in own:
            units.update((meter, unit) for meter, unit in tier.rate_units.items() if source.get(meter) is tier)
        not_billed = frozenset(t for t, tier in source.items() if t in tier.not_billed)
        return Tier(base.index, base.lower, base.upper, base.label, prices, not_billed, base.token_types, base.span,
                    spans, units, base.fees)

    def units(self) -> dict[str, Unit]:
        """The meters counted in another unit than tokens (`check` saw that each counts one unit)."""
        found = {}
        for model in self.ast_book.all(ast.Model):
            for table in model.tables:
                for row in table.rows:
                    for rate in row.rates:
                        if rate.unit is not None and BY_WORD[rate.unit.word.text] != TOKENS:
                            found[rate.token_type.text] = BY_WORD[rate.unit.word.text]
        return found

    def regions(self) -> dict[str, Region]:
        declared = [r for f in self.program.files for r in f.all(ast.RegionDecl)]
        declared += self.ast_book.all(ast.RegionDecl)
        return {r.id.text: Region(r.id.text, r.display_names, r.span) for r in declared}

    @staticmethod
    def place_lookup(regions: dict[str, Region]) -> dict[str, str]:
        lookup = {}
        for region in regions.values():
            for name in (region.id, *region.display_names):
                lookup[name] = region.id
                lookup[normalize_place(name)] = region.id
        return lookup

    def offers(self, model: ast.Model, regions: dict[str, Region], groups: dict) -> dict[str, Offer]:
        selector = tuple(t.text for t in model.selectors[0].token_types) if model.selectors else ("input",)
        by_region: dict[str, list[TierTable]] = {}
        for table in model.tables:
            compiled = self.tier_tables(table)
            for place in table.places:
                for region_id in groups.get(place.text, (place.text,)):
                    by_region.setdefault(region_id, []).extend(compiled)
        offers = {}
        for region_id, tables in by_region.items():
            tables.sort(key=lambda t: (t.start is not None, t.start))
            dated = (len(tables) > 1 or tables[0].start is not None or tables[0].end is not None
                     or self.book_dated)
            in_force = tuple(tables)
            tables = self.share(("tables", in_force), lambda in_force=in_force: in_force)  # one per group, not region
            offers[region_id] = Offer(model.name.text, regions[region_id], selector, tables, dated)
        return offers

    def tier_tables(self, table: ast.RateTable) -> list[TierTable]:
        """The table as it is in force between its price changes (`0.000400 from 2026-07-01`): one TierTable a
        period, so that the engines see dated tables only."""
        start, end = (self.moment(table.effective.start), self.moment(table.effective.end)) \
            if table.effective else (None, None)
        changes = sorted({self.moment(price.since) for row in table.rows for rate in row.rates
                          for price in rate.prices if price.since is not None})
        moments = [start, *changes, end]
        return [self.tier_table(table, since, until) for since, until in zip(moments, moments[1:])]

    def tier_table(self, table: ast.RateTable, start: datetime | None, end: datetime | None) -> TierTable:
        tiers = tuple(self.tier(index, row, start) for index, row in enumerate(table.rows, start=1))
        uppers = tuple(t.upper for t in tiers if t.upper is not None)
        return TierTable(start, end, uppers, tiers, table.span)

    def in_force(self, rate: ast.Rate, at: datetime | None) -> Iterator[tuple[int, ast.Price]]:
        """The rate's prices in force at `at` (None: the table's start), with their places in the rate: a later
        price of a currency replaces an earlier one once its change has come."""
        found: dict[str, tuple[int, ast.Price]] = {}
        for position, price in enumerate(rate.prices):
            if price.since is None or (at is not None and self.moment(price.since) <= at):
                found[price.currency.text if price.currency else self.currencies[0]] = (position, price)
        return iter(found.values())

    def tier(self, index: int, row: ast.TierRow, at: datetime | None) -> Tier:
        per_unit_prices: dict[str, dict[str, tuple[ast.Number, int]]] = {}
        rate_units = {}
        for rate in row.rates:
            exponent, rate_unit = self.rate_unit(rate)
            if rate_unit is not None:
                rate_units[rate.token_type.text] = rate_unit
            for _, price in self.in_force(rate, at):
                currency = price.currency.text if price.currency else self.currencies[0]
                per_unit_prices.setdefault(currency, {})[rate.token_type.text] = (price.amount, exponent)
        prices = {currency: self.unit_prices(by_type) for currency, by_type in per_unit_prices.items()}
        fees = tuple(r.token_type.text for r in row.rates
                     if self.meter_units.get(r.token_type.text, TOKENS).per_request)
        not_billed = frozenset(r.token_type.text for r in row.rates if not r.billed)
        token_types = tuple(r.token_type.text for r in row.rates)
        bounds = row.bounds
        if bounds is None:
            lower, upper, label = 0, None, "all"
        else:
            written_upper = None if bounds.upper is None else bounds.upper.text
            lower, upper = self.count(bounds.lower), None if bounds.upper is None else self.count(bounds.upper)
            label = self.share(("label", bounds.lower.text, written_upper), lambda: (
                f"{bounds.lower.text} < T" + ("" if written_upper is None else f" <= {written_upper}")))
        return Tier(index, lower, upper, label, prices, self.share(("not billed", not_billed), lambda: not_billed),
                    self.share(("types", token_types), lambda: token_types), row.span, self.rate_spans(row, at),
                    self.share(("units", tuple(rate_units.items())), lambda: rate_units), fees)

    def rate_unit(self, rate: ast.Rate) -> tuple[int, RateUnit | None]:
        """The exponent of a rate's pricing unit (3 for `per 1K searches`) and, when that unit is not the book's,
        what it is."""
        meter_unit = self.meter_units.get(rate.token_type.text, TOKENS)
        if rate.unit is not None:
            size = rate.unit.size
            exponent = 0 if size is None else len(str(int(size.value))) - 1
        else:
            exponent = self.model_exponent if meter_unit == TOKENS else 0
        if meter_unit == TOKENS and exponent == self.unit_exponent:
            return exponent, None
        return exponent, self.share(("rate unit", meter_unit, exponent),
                                    lambda: RateUnit(meter_unit, 10 ** exponent, meter_unit.label(10 ** exponent)))

    def rate_spans(self, row: ast.TierRow, at: datetime | None) -> dict[tuple[str, str | None], ast.Span]:
        """Where each rate in force at `at` is written: the first price from its token type (`input 0.000138`),
        any other from its currency (`CNY 0.00096`) or amount (`0.000400 from 2026-07-01`), and the whole rate
        under currency None."""
        spans = {}
        for rate in row.rates:
            token_type = rate.token_type.text
            spans[(token_type, None)] = rate.span
            for position, price in self.in_force(rate, at):
                currency = price.currency.text if price.currency else self.currencies[0]
                spans[(token_type, currency)] = (rate.token_type.span.to(price.amount.span) if position == 0
                                                 else price.span)
        return spans

    def count(self, number: ast.Number) -> int:
        return self.share(("count", number.text), lambda: int(number.value))

    def unit_prices(self, per_unit: dict[str, tuple[ast.Number, int]]) -> dict[str, UnitPrice]:
        """Per-token (per-unit-counted) prices of one tier and currency, sharing one exponent."""
        per_token = {t: self.price_per_token(n, unit_exponent) for t, (n, unit_exponent) in per_unit.items()}
        exponent = min(p[1] for p in per_token.values())
        return {t: self.share(("unit price", n.text, per_token[t][0], exponent),
                              lambda n=n, p=per_token[t][0]: UnitPrice(n.value, p, int(p.scaleb(-exponent, _EXACT)),
                                                                       exponent))
                for t, (n, _) in per_unit.items()}

    def price_per_token(self, price: ast.Number, unit_exponent: int) -> tuple[Decimal, int]:
        """A price per pricing unit (10 ** `unit_exponent` tokens, searches, ...) as the price of one."""
        key = (price.text, unit_exponent)
        found = self.per_token.get(key)
        if found is None:
            value = price.value.scaleb(-unit_exponent, _EXACT)
            found = self.per_token[key] = (value, value.as_tuple().exponent)
        return found

    def quota(self) -> Quota | None:
        quotas = self.ast_book.all(ast.Quota)
        if not quotas:
            return None
        quota = quotas[0]
        windows = quota.clause(ast.QuotaWindow)
        length, unit = (int(windows[0].length.value), windows[0].unit.text) if windows else (1, "months")
        unit = unit if unit.endswith("s") else unit + "s"
        consumes = tuple(n.text for c in quota.clause(ast.QuotaConsume) for n in c.token_types)
        return Quota(quota.name.text, quota.title or quota.name.text,
                     int(quota.clause(ast.QuotaFree)[0].tokens.value), length, unit, consumes, quota.span)

    def trial(self) -> Trial | None:
        trials = self.ast_book.all(ast.Trial)
        if not trials:
            return None
        trial = trials[0]
        until = self.moment(trial.until)
        return Trial(until, trial.reason or f"free trial until {until.isoformat()}", trial.span)

    def example(self, example: ast.Example) -> Example:
        return Example(
            title=example.title,
            place=example.place.text,
            model=example.model.text,
            tokens=tuple((t.token_type.text, int(t.count.value)) for t in example.tokens),
            requests=int(example.requests.value) if example.requests else 1,
            at=self.moment(example.at),
            currency=example.currency.text,
            expected=example.expected.value,
            expected_text=example.expected.text,
            span=example.span,
            variant=tuple(name.text for name in example.variant),
        )


def unit_prices_of(values: dict[str, tuple[Decimal, Decimal]]) -> dict[str, UnitPrice]:
    """Prices of one tier and currency from (per pricing unit, per token), sharing one exponent."""
    exponent = min(per_token.as_tuple().exponent for _, per_token in values.values())
    return {t: UnitPrice(per_unit, per_token, int(per_token.scaleb(-exponent, _EXACT)), exponent)
            for t, (per_unit, per_token) in values.items()}


def _plain(value: Decimal) -> Decimal:
    """A multiplied price as a person writes it: 2.50 -> 2.5, 20.0 -> 20 (never 2E+1)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def _value(number: ast.Number | None) -> Decimal | None:
    return None if number is None else number.value
