"""Semantic checks of a parsed program.

Takes a `Program` (the root file and its includes, as ASTs) and gives the list
of `Diagnostic`s that `rulecheck` reports: missing or repeated settings,
unknown names, tier tables with gaps or overlaps, prices that are negative or
more precise than the book rounds to, overlapping effective dates, numbers
and dates beyond the limits below, and so on. Compiling is only attempted on
a program with no error diagnostics; the worked examples are run after
compiling (`examples.py`).

The limits keep every number the engine will meet exact and cheap, and are
the same as the usage side's where they meet (`limits.py`): a price is
written with at most 30 significant digits and 30 decimals; prices are per
token, or per 10, 100, ... up to 1M tokens; tier bounds and free quotas are
at most 10**15 tokens; a quota window is at most 1,200 months or 36,500 days;
an example's token counts are below 10**15 per request and it stands for at
most 10**12 requests; dates lie from 1970-01-01T00:00Z up to 9000-01-01T00:00Z.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping

from . import ast
from .errors import ERROR, WARNING, Diagnostic, did_you_mean
from .include import Program
from .limits import (
    EARLIEST,
    LATEST,
    MAX_PRICE_DECIMALS,
    MAX_PRICE_DIGITS,
    MAX_PRICE_UNIT,
    MAX_REQUESTS,
    MAX_TIER_TOKENS,
    MAX_TOKENS,
    MAX_VARIANT_COMBINATIONS,
    MAX_VARIANT_OFFERS,
    MAX_WINDOW,
    TIME_RANGE,
)
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
from .source import Span
from .units import BY_WORD, RECORD_FIELDS, TOKENS, WORDS, Unit

BOOK_COUNT = "R005"
UNKNOWN_REGION = "R010"
DUPLICATE_REGION = "R011"
REGION_IN_TWO_GROUPS = "R012"
UNKNOWN_PLACE = "R013"
DUPLICATE_GROUP = "R014"
DUPLICATE_MODEL = "R015"
BAD_CURRENCY = "R016"
REPEATED_SETTING = "R017"
DUPLICATE_TOKEN_TYPE = "R019"
TIER_GAP = "R020"
TIER_OVERLAP = "R021"
TIER_ORDER = "R022"
TIER_START = "R023"
BAD_BOUND = "R024"
MISSING_RATE = "R025"
NEGATIVE_PRICE = "R026"
ZERO_PRICE = "R027"
PRICE_PRECISION = "R028"
MIXED_CURRENCIES = "R029"
OVERLAPPING_DATES = "R030"
BAD_QUOTA = "R031"
UNKNOWN_TOKEN_TYPE = "R033"
BAD_SETTING = "R034"
MISSING_SETTING = "R035"
BAD_EXAMPLE = "R036"
PRICE_RANGE = "R037"
PRICE_UNIT_RANGE = "R038"
COUNT_RANGE = "R039"
WINDOW_RANGE = "R040"
DATE_RANGE = "R041"
PRICE_DATES = "R042"
UNKNOWN_UNIT = "R043"
UNIT_CONFLICT = "R044"
NOT_TOKENS = "R045"
BAD_VARIANT = "R046"
VARIANT_MISMATCH = "R047"
BAD_EXCLUSIVE = "R048"
BAD_WINDOW = "R049"
OVERLAPPING_WINDOWS = "R050"
VARIANT_COMBINATIONS = "R051"
MAX_MULTIPLIER = 1000

MAX_EXAMPLE_TOKENS = MAX_TOKENS - 1  # per request, as in usage records and quotes
SHOWN_DIGITS = 40  # a longer number is abbreviated in messages

ROUNDING_MODES = ("half-up", "half-even", "half-down", "up", "down", "ceiling", "floor")
CYCLE_PERIODS = ("hourly", "daily")
WINDOW_UNITS = ("day", "days", "month", "months")
_CURRENCY_CODE = re.compile(r"[A-Z]{3}$")


def check(program: Program) -> list[Diagnostic]:
    """Every diagnostic about `program` that can be found without compiling it."""
    return _Checker(program).run()


class _Checker:
    def __init__(self, program: Program) -> None:
        self.program = program
        self.found: list[Diagnostic] = list(program.diagnostics)
        self.region_ids: dict[str, ast.RegionDecl] = {}
        self.place_names: dict[str, str] = {}
        self.groups: dict[str, ast.Group] = {}
        self.currencies: list[str] = []
        self.in_two_groups: set[str] = set()  # already reported; their rate tables overlap by consequence
        self.places = 6
        self.zone = None
        self.meter_units: dict[str, tuple[Unit, ast.Rate]] = {}  # meter -> its unit, and the first rate saying so
        self.variant_values: dict[str, str] = {}  # a variant value -> its field
        self.window_minutes: dict[str, set[int]] = {}  # a well-formed time window -> the minutes of a week it covers
        self.every_model_windows: list[str] = []  # windows with a multiplier of the book's: every model prices them
        self.every_model_values: set[str] = set()  # variant values (windows too) with the book's multiplier
        self.window_names: list[str] = []  # the book's time windows
        self.exclusive_fields: list[set[str]] = []  # each `exclusive` statement's fields
        self.variant_offers = 0  # combinations of variant values priced so far, over the book's models and regions

    def error(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.found.append(Diagnostic(code, message, span, hint, ERROR))

    def warn(self, code: str, message: str, span: Span, hint: str | None = None) -> None:
        self.found.append(Diagnostic(code, message, span, hint, WARNING))

    def run(self) -> list[Diagnostic]:
        if any(d.is_error for d in self.found) and self.program.root_file is None:
            return self.found
        book = self._the_book()
        self._regions(book)
        if book is not None:
            self._book(book)
        return self.found

    # -- which book -------------------------------------------------------

    def _the_book(self) -> ast.Book | None:
        root = self.program.root_file
        for rules_file in self.program.files:
            if rules_file is root:
                continue
            for book in rules_file.all(ast.Book):
                self.error(BOOK_COUNT, f"included file defines book '{book.name.text}'", book.name.span,
                           "an included file shares regions; keep each book in a file of its own")
        books = root.all(ast.Book) if root else []
        if not books:
            if root is not None:
                where = root.span if root.span.line else Span.point(root.path, 1, 1)
                self.error(BOOK_COUNT, "this file defines no book", where,
                           "add `book NAME \"Title\" { ... }`; a file of shared regions is included, not loaded")
            return None
        for extra in books[1:]:
            self.error(BOOK_COUNT, f"a second book '{extra.name.text}' in one file", extra.name.span,
                       "put each book in a file of its own")
        return books[0]

    # -- regions and groups -----------------------------------------------

    def _regions(self, book: ast.Book | None) -> None:
        declared = [r for f in self.program.files for r in f.all(ast.RegionDecl)]
        if book is not None:
            declared += book.all(ast.RegionDecl)
        for region in declared:
            self._declare_region(region)

    def _declare_region(self, region: ast.RegionDecl) -> None:
        if region.id.text in self.region_ids:
            first = self.region_ids[region.id.text].span
            self.error(DUPLICATE_REGION, f"region '{region.id.text}' is declared twice (first at {first})",
                       region.id.span, "remove one declaration")
            return
        self.region_ids[region.id.text] = region
        for name in (region.id.text, *region.display_names):
            key = normalize_place(name)
            owner = self.place_names.get(key)
            if owner is not None and owner != region.id.text:
                self.error(DUPLICATE_REGION, f"'{name}' already names region '{owner}'", region.span,
                           "a display name must name one region only")
            self.place_names.setdefault(key, region.id.text)

    def _unknown_region(self, name: ast.Name, what: str) -> None:
        if not self.program.complete:
            return  # an include could not be read (already reported): the region may well be declared there
        self.error(UNKNOWN_REGION, f"unknown region '{name.text}' in {what}", name.span,
                   did_you_mean(name.text, self.region_ids) or "declare it with `region ID \"Display name\"`")

    def _groups(self, book: ast.Book) -> None:
        member_of: dict[str, ast.Group] = {}
        for group in book.all(ast.Group):
            name = group.name.text
            if name in self.groups:
                self.error(DUPLICATE_GROUP, f"group '{name}' is defined twice", group.name.span, "merge the two lists")
                continue
            if name in self.region_ids:
                self.error(DUPLICATE_GROUP, f"group '{name}' has the name of a region", group.name.span,
                           "choose another group name")
            self.groups[name] = group
            seen: set[str] = set()
            for member in group.members:
                if member.text not in self.region_ids:
                    self._unknown_region(member, f"group '{name}'")
                    continue
                if member.text in seen:
                    self.error(DUPLICATE_REGION, f"region '{member.text}' is listed twice in group '{name}'",
                               member.span, "remove the repetition")
                    continue
                seen.add(member.text)
                other = member_of.get(member.text)
                if other is not None:
                    self.in_two_groups.add(member.text)
                    self.error(REGION_IN_TWO_GROUPS,
                               f"region '{member.text}' is in group '{other.name.text}' and in group '{name}'",
                               member.span, "a region has one price list in a book; keep it in one group")
                else:
                    member_of[member.text] = group

    # -- settings ---------------------------------------------------------

    def _single(self, book: ast.Book, kind: type, what: str, example: str | None) -> object | None:
        found = book.all(kind)
        for extra in found[1:]:
            self.error(REPEATED_SETTING, f"'{what}' is set twice", extra.span, f"keep one (first at {found[0].span})")
        if not found and example is not None:
            self.error(MISSING_SETTING, f"book '{book.name.text}' has no '{what}' setting",
                       book.name.span, f"add `{example}`")
        return found[0] if found else None

    def _book(self, book: ast.Book) -> None:
        self._settings(book)
        self._groups(book)
        models: dict[str, ast.Model] = {}
        token_types: set[str] = set()
        self._meter_units(book)
        self._variant_fields(book)
        for model in book.all(ast.Model):
            if model.name.text in models:
                self.error(DUPLICATE_MODEL, f"model '{model.name.text}' is defined twice", model.name.span,
                           f"merge it with the one at {models[model.name.text].span}")
                continue
            models[model.name.text] = model
            types = set(model.token_types())
            token_types |= types
            self._model(model, types)
        if not models:
            self.error(MISSING_SETTING, f"book '{book.name.text}' prices no model", book.name.span,
                       "add `model NAME { ... }`")
        self._aliases(models)
        quota = self._single(book, ast.Quota, "quota", None)
        if quota is not None:
            self._quota(quota, token_types)
        trial = self._single(book, ast.Trial, "trial", None)
        if trial is not None:
            self._moment(trial.until)
        for example in book.all(ast.Example):
            self._example(example)

    def _example(self, example: ast.Example) -> None:
        for count in example.tokens:
            unit = self.meter_units.get(count.token_type.text, (TOKENS,))[0]
            if unit.per_request:
                self.error(NOT_TOKENS, f"'{count.token_type.text}' is a fee per request: usage does not count it",
                           count.token_type.span, "remove it; each request of the example pays it once")
        counts = [(c.count, "token count", 0, MAX_EXAMPLE_TOKENS) for c in example.tokens]
        if example.requests is not None:
            counts.append((example.requests, "request count", 1, MAX_REQUESTS))
        for number, what, low, high in counts:
            value = number.value
            if value > high:
                self.error(COUNT_RANGE, f"example '{example.title}' has {what} {shown(number)}, more than ratecard "
                           "handles", number.span, f"a {what} is at most {high:,}; split the example")
            elif value != value.to_integral_value() or value < low:
                self.error(BAD_EXAMPLE, f"example '{example.title}' has {what} {shown(number)}", number.span,
                           f"a {what} is a whole number of {low} or more")
        self._money_range(example.expected, "expected amount")
        if self.currencies and example.currency.text not in self.currencies:
            self.error(BAD_CURRENCY, f"example '{example.title}' expects {example.currency.text}, "
                       "which the book does not price in", example.currency.span,
                       did_you_mean(example.currency.text, self.currencies)
                       or "use one of " + ", ".join(self.currencies))
        if example.at is not None:
            self._moment(example.at)
        elif self.window_names:
            self.error(BAD_EXAMPLE, f"example '{example.title}' gives no time, and the book has time windows",
                       example.span, "add `at 2026-06-01T12:00Z`: the time of a request chooses its window, and "
                       "an example without one would be priced at the time it is checked")

    def _settings(self, book: ast.Book) -> None:
        self._single(book, ast.SourceRef, "source", None)
        currencies = self._single(book, ast.Currencies, "currency", "currency USD")
        if currencies is not None:
            for code in currencies.codes:
                if not _CURRENCY_CODE.match(code.text):
                    self.error(BAD_CURRENCY, f"'{code.text}' is not a currency code", code.span,
                               "use a three-letter ISO 4217 code such as USD or CNY")
                elif code.text in self.currencies:
                    self.error(BAD_CURRENCY, f"currency '{code.text}' is listed twice", code.span, "remove one")
                else:
                    self.currencies.append(code.text)
        unit = self._single(book, ast.PriceUnit, "price per", "price per 1K tokens")
        if unit is not None and unit.tokens is not None:
            self._unit_size(unit.tokens, TOKENS, "price per")
        cycle = self._single(book, ast.Cycle, "cycle", "cycle hourly in UTC+8")
        if cycle is not None:
            if cycle.period.text not in CYCLE_PERIODS:
                self.error(BAD_SETTING, f"unknown billing cycle '{cycle.period.text}'", cycle.period.span,
                           did_you_mean(cycle.period.text, CYCLE_PERIODS) or "use hourly or daily")
            try:
                self.zone = parse_zone(cycle.zone.text)
            except ValueError as error:
                self.error(BAD_SETTING, str(error), cycle.zone.span)
        rounding = self._single(book, ast.Rounding, "round", "round 6 half-up")
        if rounding is not None:
            places = rounding.places.value
            if places != places.to_integral_value() or not 0 <= places <= 18:
                self.error(BAD_SETTING, f"cannot round to '{shown(rounding.places)}' decimals", rounding.places.span,
                           "write a whole number of decimals from 0 to 18")
            else:
                self.places = int(places)
            if rounding.mode.text not in ROUNDING_MODES:
                self.error(BAD_SETTING, f"unknown rounding mode '{rounding.mode.text}'", rounding.mode.span,
                           did_you_mean(rounding.mode.text, ROUNDING_MODES) or "use " + ", ".join(ROUNDING_MODES))
        effective = self._single(book, ast.Effective, "effective", None)
        if effective is not None:
            self._range(effective)

    def _unit_size(self, size: ast.Number, unit: Unit, lead: str = "per") -> None:
        """A pricing unit's size: a power of ten up to 1M (`per 1K searches`, `price per 1M tokens`)."""
        value = size.value
        if value > MAX_PRICE_UNIT:
            self.error(PRICE_UNIT_RANGE, f"prices per {shown(size)} {unit.plural}: the pricing unit is too large",
                       size.span, f"the largest pricing unit is 1M {unit.plural}: write `{lead} 1M {unit.plural}`")
        elif not (value > 0 and value == value.to_integral_value() and str(int(value)).rstrip("0") == "1"):
            self.error(BAD_SETTING, f"price unit '{shown(size)}' is not a power of ten", size.span,
                       f"write `{lead} {unit.singular}`, `{lead} 1K {unit.plural}` or `{lead} 1M {unit.plural}`")

    # -- units ------------------------------------------------------------

    def _meter_units(self, book: ast.Book) -> None:
        """What each meter counts, the same in the whole book (its usage column is book-wide): tokens unless its
        rates say `per ... UNIT`. A rate `not billed` takes the unit its meter has elsewhere."""
        for model in book.all(ast.Model):
            for extra in model.price_units[1:]:
                self.error(REPEATED_SETTING, f"model '{model.name.text}' sets its price unit twice", extra.span,
                           f"keep one (first at {model.price_units[0].span})")
            for setting in model.price_units[:1]:
                if setting.tokens is not None:
                    self._unit_size(setting.tokens, TOKENS, "price per")
            for table in (*model.tables, *(t for variant in model.variants for t in variant.tables)):
                for row in table.rows:
                    for rate in row.rates:
                        if rate.billed:
                            self._rate_unit(rate)

    def _rate_unit(self, rate: ast.Rate) -> None:
        unit = TOKENS
        if rate.unit is not None:
            word = rate.unit.word
            unit = BY_WORD.get(word.text)
            if unit is None:
                self.error(UNKNOWN_UNIT, f"unknown unit '{word.text}'", word.span,
                           did_you_mean(word.text, WORDS) or "units: " + ", ".join(u for u in WORDS))
                return
            if rate.unit.size is not None:
                self._unit_size(rate.unit.size, unit)
        meter = rate.token_type.text
        first = self.meter_units.setdefault(meter, (unit, rate))
        if first[0] != unit:
            where = rate.unit.word if rate.unit is not None else rate.token_type
            self.error(UNIT_CONFLICT, f"'{meter}' is priced per {unit.singular} here and per {first[0].singular} at "
                       f"{first[1].span}", where.span,
                       f"a meter counts one unit in the whole book (usage has one column for it): price '{meter}' "
                       f"per {first[0].singular} everywhere, or give this one another name")

    def _token_meter(self, name: ast.Name, what: str) -> bool:
        """Is `name` a meter counted in tokens? Reports it if it counts another unit (`what` is where it stands)."""
        unit = self.meter_units.get(name.text, (TOKENS,))[0]
        if unit == TOKENS:
            return True
        self.error(NOT_TOKENS, f"'{name.text}' counts {unit.plural}, not tokens: {what}", name.span,
                   "only token types can be summed with tokens; name a token type here")
        return False

    def _moment(self, moment: ast.Moment):
        """The moment a date literal means, or None (reported) when it is invalid or out of range."""
        try:
            value = parse_moment(moment.text, self.zone or parse_zone("UTC"))
        except ValueError:
            self.error(BAD_SETTING, f"'{moment.text}' is not a valid date or time", moment.span,
                       "write 2026-04-08 or 2026-04-08T00:00+08:00")
            return None
        if not EARLIEST <= value < LATEST:
            self.error(DATE_RANGE, f"'{moment.text}' is outside the dates ratecard handles", moment.span,
                       f"write a date {TIME_RANGE}")
            return None
        return value

    def _aliases(self, models: dict[str, ast.Model]) -> None:
        """Each alias names one model: never a model's ID, nor another model's (or the same model's) alias."""
        named: dict[str, str] = {}
        for model in models.values():
            for alias in model.alias_names():
                if alias.text in models:
                    self.error(DUPLICATE_MODEL, f"alias '{alias.text}' is the ID of a model", alias.span,
                               "a name must name one model only: remove this alias")
                elif alias.text in named:
                    self.error(DUPLICATE_MODEL, f"'{alias.text}' is already an alias of model '{named[alias.text]}'",
                               alias.span, "a name must name one model only: remove one of the two")
                else:
                    named[alias.text] = model.name.text

    def _selector(self, model: ast.Model, selector: ast.Selector, token_types: set[str]) -> None:
        seen: set[str] = set()
        for term in selector.token_types:
            if term.text in seen:
                self.error(DUPLICATE_TOKEN_TYPE, f"'{term.text}' is counted twice in what chooses the tier of "
                           f"model '{model.name.text}'", term.span, f"remove this '+ {term.text}'")
            seen.add(term.text)
            if not self._token_meter(term, "a tier is chosen by tokens per request"):
                continue
            if token_types and term.text not in token_types:
                self.error(UNKNOWN_TOKEN_TYPE, f"model '{model.name.text}' prices no '{term.text}' tokens",
                           term.span, did_you_mean(term.text, token_types))

    def _range(self, effective: ast.Effective):
        start = self._moment(effective.start) if effective.start else None
        end = self._moment(effective.end) if effective.end else None
        if effective.start is None and effective.end is None:
            self.error(BAD_SETTING, "'effective' needs 'from', 'until' or both", effective.span,
                       "write `effective from 2026-04-08` or `effective until 2026-12-31`")
        if start and end and start >= end:
            self.error(BAD_SETTING, "this date range ends before it starts", effective.span,
                       "the 'until' date must be later than the 'from' date")
        return start, end

    # -- models -----------------------------------------------------------

    def _model(self, model: ast.Model, token_types: set[str]) -> None:
        for extra in model.selectors[1:]:
            self.error(REPEATED_SETTING, f"model '{model.name.text}' says twice what chooses its tier", extra.span,
                       "keep one `tier by ... tokens per request`")
        has_tiers = any(row.bounds is not None for t in model.tables for row in t.rows)
        if model.selectors:
            self._selector(model, model.selectors[0], token_types)
        elif has_tiers:
            self.error(MISSING_SETTING, f"model '{model.name.text}' has tiers but does not say what chooses one",
                       model.name.span, "add `tier by input tokens per request`")
        if not model.tables:
            self.error(MISSING_SETTING, f"model '{model.name.text}' has no rate table", model.name.span,
                       "add `GROUP { input 0.1 output 0.2 }`")
        covered: dict[str, list[tuple[ast.RateTable, object, object]]] = defaultdict(list)
        for table in model.tables:
            start, end = self._range(table.effective) if table.effective else (None, None)
            for region in self._table_regions(table):
                if region in self.in_two_groups:
                    continue
                for other, other_start, other_end in covered[region]:
                    if _overlaps(start, end, other_start, other_end):
                        self.error(OVERLAPPING_DATES,
                                   f"region '{region}' of model '{model.name.text}' has two rate tables in force "
                                   f"at once (the other at {other.span})", table.span,
                                   "give the tables effective date ranges that do not overlap")
                        break
                covered[region].append((table, start, end))
            self._rows(model, table, token_types, start, end)
        self._model_variants(model, {region: [t for t, _, _ in tables] for region, tables in covered.items()})

    def _table_regions(self, table: ast.RateTable) -> list[str]:
        regions = []
        for place in table.places:
            if place.text in self.groups:
                regions += [m.text for m in self.groups[place.text].members if m.text in self.region_ids]
            elif place.text in self.region_ids:
                regions.append(place.text)
            elif self.program.complete:
                self.error(UNKNOWN_PLACE, f"'{place.text}' is neither a group nor a region", place.span,
                           did_you_mean(place.text, [*self.groups, *self.region_ids]))
        return regions

    def _rows(self, model: ast.Model, table: ast.RateTable, token_types: set[str], start, end) -> None:
        bounded = [row.bounds for row in table.rows if row.bounds is not None]
        numbers = [n for b in bounded for n in (b.lower, b.upper) if n is not None]
        if all([self._token_range(n, "a tier bound") for n in numbers]):  # noqa: C419 (a list: report every one)
            self._tier_order(bounded)
        for row in table.rows:
            self._rates(model, row, token_types, (start, end))

    def _tier_order(self, bounded: list[ast.Bounds]) -> None:
        disorder = next((b for a, b in zip(bounded, bounded[1:]) if b.lower.value < a.lower.value), None)
        if disorder is not None:
            self.error(TIER_ORDER, "tiers are out of order", disorder.span,
                       "list tiers from the smallest request size to the largest")
            return
        for index, bounds in enumerate(bounded):
            self._bounds(bounds, bounded[index - 1] if index else None)

    def _bounds(self, bounds: ast.Bounds, previous: ast.Bounds | None) -> None:
        """One tier's bounds, given the tier before it (the tiers are known to be in order)."""
        for number in (bounds.lower, bounds.upper):
            if number is not None and number.value != number.value.to_integral_value():
                self.error(BAD_BOUND, f"tier bound '{shown(number)}' is not a whole number of tokens", number.span,
                           "tokens are counted in whole numbers")
        lower = shown(bounds.lower)
        if bounds.upper is not None and bounds.upper.value <= bounds.lower.value:
            self.error(BAD_BOUND, f"this tier is empty: {lower} is not below {shown(bounds.upper)}",
                       bounds.span, "the upper bound must be greater than the lower one")
            return
        if previous is None:
            if bounds.lower.value != 0:
                self.error(TIER_START, f"the first tier starts at {lower}, not 0", bounds.lower.span,
                           f"requests of 1 to {lower} tokens would have no price; start at `0 < T`")
            return
        if previous.upper is None:
            self.error(TIER_ORDER, "a tier follows an open-ended tier", bounds.span,
                       "the tier with no upper bound (`N < T`) must come last")
            return
        prev_upper, ends = previous.upper.value, shown(previous.upper)
        if bounds.lower.value < prev_upper:
            self.error(TIER_OVERLAP, f"this tier starts at {lower}, inside the previous tier, which "
                       f"ends at {ends}", bounds.span, f"start this tier at `{ends} < T`")
        elif bounds.lower.value > prev_upper:
            self.error(TIER_GAP, f"requests of {ends} to {lower} tokens fall between tiers",
                       bounds.span, f"start this tier at `{ends} < T`")

    def _rates(self, model: ast.Model, row: ast.TierRow, token_types: set[str], in_force: tuple) -> None:
        seen: dict[str, ast.Rate] = {}
        currency_sets: dict[str, frozenset[str]] = {}
        for rate in row.rates:
            name = rate.token_type.text
            if name in seen:
                self.error(DUPLICATE_TOKEN_TYPE, f"'{name}' is priced twice in this tier", rate.token_type.span,
                           "remove one of the two rates")
                continue
            seen[name] = rate
            if rate.billed:
                currency_sets[name] = self._prices(rate, in_force)
        for missing in sorted(token_types - set(seen)):
            self.error(MISSING_RATE, f"this tier of model '{model.name.text}' has no rate for '{missing}' tokens",
                       row.span, f"add `{missing} PRICE`, or `{missing} not billed` if it is free")
        currency_sets = {name: codes for name, codes in currency_sets.items() if codes}
        if len(set(currency_sets.values())) > 1:
            described = ", ".join(f"{k} in {'/'.join(sorted(v))}" for k, v in currency_sets.items())
            self.error(MIXED_CURRENCIES, f"the token types of this tier are priced in different currencies "
                       f"({described})", row.span, "price every billed token type in the same currencies")

    def _prices(self, rate: ast.Rate, in_force: tuple) -> frozenset[str]:
        currencies: set[str] = set()
        changed: dict[str, object] = {}  # currency -> the moment of its latest price change so far
        default = self.currencies[0] if self.currencies else None
        for price in rate.prices:
            code = price.currency.text if price.currency else default
            if price.currency is not None and code not in self.currencies:
                self.error(BAD_CURRENCY, f"currency '{code}' is not declared by the book", price.currency.span,
                           did_you_mean(code, self.currencies)
                           or f"add it to `currency {', '.join(self.currencies + [code])}`")
                continue
            if price.since is not None:
                self._price_change(rate, price, code, code in currencies, changed, in_force)
                self._price_value(rate, price)
                continue
            if code in currencies:
                where = price.currency or price  # a span is made only for a finding
                self.error(BAD_CURRENCY, f"'{rate.token_type.text}' has two {code} prices", where.span, "keep one")
            currencies.add(code)
            self._price_value(rate, price)
        return frozenset(c for c in currencies if c)

    def _price_change(self, rate: ast.Rate, price: ast.Price, code: str, has_price: bool, changed: dict,
                      in_force: tuple) -> None:
        """`0.000400 from 2026-07-01`: after a price in its currency, later than its currency's last change, and
        within the dates of its table."""
        name, since = rate.token_type.text, price.since.text
        moment = self._moment(price.since)
        if moment is None:
            return
        if not has_price:
            written = "" if price.currency is None else code + " "
            self.error(PRICE_DATES, f"'{name}' has no {code} price before {since}", price.span,
                       f"write the price before the change first: `{name} {written}PRICE, {written}"
                       f"{shown(price.amount)} from {since}`")
            return
        if code in changed and moment <= changed[code]:
            self.error(PRICE_DATES, f"the {code} price changes of '{name}' are not in date order", price.span,
                       "write each change after the one before it, earliest first")
            return
        changed[code] = moment
        start, end = in_force
        if (start is not None and moment <= start) or (end is not None and moment >= end):
            self.error(PRICE_DATES, f"'{name}' changes price at {since}, outside its table's dates "
                       f"({_dates_text(start, end)})", price.since.span,
                       "a change must fall after the table comes into force and before it ends")

    def _price_value(self, rate: ast.Rate, price: ast.Price) -> None:
        exponent = self._money_range(price.amount, "price")
        if exponent is None:
            return
        value = price.amount.value
        if value < 0:
            self.error(NEGATIVE_PRICE, f"negative price {shown(price.amount)}", price.amount.span,
                       "prices are zero or more; a discount is a separate rule")
        elif value == 0:
            self.warn(ZERO_PRICE, f"'{rate.token_type.text}' is priced at zero", price.amount.span,
                      f"if it is free on purpose, write `{rate.token_type.text} not billed`")
        if -exponent > self.places:
            self.warn(PRICE_PRECISION, f"price {shown(price.amount)} has more decimals than the book rounds to "
                      f"({self.places})", price.amount.span, "check the price, or round the book to more decimals")

    # -- variants ---------------------------------------------------------

    def _variant_fields(self, book: ast.Book) -> None:
        """`variant FIELD = value, value * 0.5`: each field a new usage field, each value in one field only."""
        fields: dict[str, ast.VariantField] = {}
        for field in book.all(ast.VariantField):
            name = field.name.text
            if name in fields:
                self.error(BAD_VARIANT, f"variant field '{name}' is declared twice", field.name.span,
                           f"list all its values in the one at {fields[name].span}")
                continue
            fields[name] = field
            if name in RECORD_FIELDS or name.endswith("_tokens") or "_" + name.rsplit("_", 1)[-1] in _UNIT_SUFFIXES:
                self.error(BAD_VARIANT, f"variant field '{name}' is named like a usage field", field.name.span,
                           "name it as the usage calls it, e.g. `service_tier` or `processing`")
            for value in field.values:
                if value.name.text in self.variant_values:
                    self.error(BAD_VARIANT, f"variant '{value.name.text}' is already a value of field "
                               f"'{self.variant_values[value.name.text]}'", value.name.span,
                               "a value names one variant: give this one another name")
                    continue
                self.variant_values[value.name.text] = name
                if value.multiplier is not None:
                    self._multiplier(value.multiplier)
                    self.every_model_values.add(value.name.text)
        self._windows(book, fields)
        for exclusive in book.all(ast.Exclusive):
            seen: set[str] = set()
            for name in exclusive.fields:
                if name.text not in fields and not (name.text == WINDOW_FIELD and book.all(ast.TimeWindow)):
                    self.error(BAD_EXCLUSIVE, f"'{name.text}' is not a variant field", name.span,
                               did_you_mean(name.text, fields) or "declare it with `variant FIELD = VALUE, ...`")
                elif name.text in seen:
                    self.error(BAD_EXCLUSIVE, f"variant field '{name.text}' is listed twice", name.span,
                               "list each field once")
                seen.add(name.text)
            self.exclusive_fields.append(seen)

    def _windows(self, book: ast.Book, fields: dict) -> None:
        """`window NAME = [DAY] HH:MM to [DAY] HH:MM in ZONE [* N]`: values of the variant field `window`, chosen by
        the time of a request; well formed. Windows may overlap (two models' peak hours), but no model prices two
        that do: two with the book's multipliers are priced by every model (`_model_windows`)."""
        windows = book.all(ast.TimeWindow)
        if WINDOW_FIELD in fields:  # in every book: the engines take a value of `window` for a time window
            self.error(BAD_VARIANT, f"'{WINDOW_FIELD}' is the field of time windows (`window NAME = ...`)",
                       fields[WINDOW_FIELD].name.span, "give this variant field another name")
        for window in windows:
            name = window.name.text
            self.window_names.append(name)
            if name in self.variant_values:
                self.error(BAD_VARIANT, f"'{name}' is already a value of field '{self.variant_values[name]}'",
                           window.name.span, "a value names one variant: give this window another name")
                continue
            self.variant_values[name] = WINDOW_FIELD
            if window.multiplier is not None:
                self._multiplier(window.multiplier)
            clock = self._clock_window(window)
            if clock is None:
                continue
            minutes = self.window_minutes[name] = clock.week_minutes()
            if window.multiplier is None:
                continue
            other = next((n for n in self.every_model_windows if minutes & self.window_minutes[n]), None)
            if other is not None:
                self.error(OVERLAPPING_WINDOWS, f"windows '{name}' and '{other}' cover the same times, and every "
                           "model prices both (the book's multipliers)", window.span,
                           "a request falls in one window of a model at most: make them meet, not overlap")
            self.every_model_windows.append(name)
            self.every_model_values.add(name)

    def _variant_combinations(self, model: ast.Model, regions) -> None:
        """Each combination of variant values a model prices in a region is an offer of its own, compiled ahead
        (`compile.with_variants`): at most MAX_VARIANT_COMBINATIONS per region (a book of ten fields of eight
        values would be 9**10 offers). Values with a multiplier (the book's or the model's) are priced in every
        region, values with own tables where they have them; fields the book makes exclusive never combine."""
        everywhere = self.every_model_values | {v.name.text for v in model.variants
                                                if v.multiplier is not None and v.name.text in self.variant_values}
        own: dict[str, set[str]] = defaultdict(set)  # value -> the regions of its own tables
        for variant in model.variants:
            for table in variant.tables:
                own[variant.name.text].update(self._table_regions(table))
        for region in regions:
            priced = everywhere | {name for name, places in own.items() if region in places
                                   and name in self.variant_values}
            counts = Counter(self.variant_values[name] for name in priced)
            combinations = _combinations(counts, self.exclusive_fields, MAX_VARIANT_COMBINATIONS)
            if combinations > MAX_VARIANT_COMBINATIONS:
                self.error(VARIANT_COMBINATIONS, f"model '{model.name.text}' prices more than "
                           f"{MAX_VARIANT_COMBINATIONS:,} combinations of variant values in region '{region}'",
                           model.name.span, "each combination is priced ahead: give fewer values the book's "
                           "multiplier (`* N` on a value prices it in every model), price values in the models "
                           "that have them, or make fields that never combine `exclusive`")
                return
            before, self.variant_offers = self.variant_offers, self.variant_offers + combinations
            if before <= MAX_VARIANT_OFFERS < self.variant_offers:  # said once, at the model that crosses it
                self.error(VARIANT_COMBINATIONS, f"the book prices more than {MAX_VARIANT_OFFERS:,} combinations of "
                           f"variant values, over its models and regions, by model '{model.name.text}'",
                           model.name.span, "each combination is priced ahead: split the book, or price variants "
                           "in the models and regions that have them")
                return

    def _model_windows(self, model: ast.Model) -> None:
        """The time windows a model prices (its own variants, and the book's with a multiplier) never overlap."""
        priced = list(self.every_model_windows)
        for variant in model.variants:
            name = variant.name.text
            if name not in self.window_minutes or name in priced:
                continue
            other = next((n for n in priced if self.window_minutes[name] & self.window_minutes[n]), None)
            if other is not None:
                self.error(OVERLAPPING_WINDOWS, f"model '{model.name.text}' prices windows '{name}' and '{other}', "
                           "which cover the same times", variant.span,
                           "a request falls in one window of a model at most: make them meet, not overlap")
            priced.append(name)

    def _clock_window(self, window: ast.TimeWindow) -> ClockWindow | None:
        """The window's minutes and zone, or None (reported) when it is not well formed."""
        try:
            zone = parse_zone(window.zone.text)
        except ValueError as error:
            self.error(BAD_WINDOW, str(error), window.zone.span, "write UTC, UTC+8 or UTC-05:30")
            return None
        days = [window.start_day, window.end_day]
        if (days[0] is None) != (days[1] is None):
            given = days[0] or days[1]
            self.error(BAD_WINDOW, "a weekly window needs a day at both ends", given.span,
                       "write `sat 00:00 to mon 00:00`, or no day for a daily window")
            return None
        edges = []
        for day, clock in ((window.start_day, window.start), (window.end_day, window.end)):
            try:
                minute = parse_clock(clock.text)
            except ValueError as error:
                self.error(BAD_WINDOW, str(error), clock.span, "write a time of day such as 16:30")
                return None
            if day is not None:
                if day.text not in DAYS:
                    self.error(BAD_WINDOW, f"'{day.text}' is not a day", day.span,
                               did_you_mean(day.text, DAYS) or "days: " + ", ".join(DAYS))
                    return None
                minute += DAYS.index(day.text) * DAY_MINUTES
            edges.append(minute)
        if edges[0] == edges[1]:
            self.error(BAD_WINDOW, f"window '{window.name.text}' starts where it ends", window.span,
                       "a window that is always open is the model's own prices: remove it")
            return None
        offset = int(zone.utcoffset(None).total_seconds()) // 60
        return ClockWindow(edges[0], edges[1], DAY_MINUTES if window.start_day is None else WEEK_MINUTES, offset)

    def _multiplier(self, number: ast.Number) -> None:
        if self._money_range(number, "multiplier") is None:
            return
        if not 0 < number.value <= MAX_MULTIPLIER:
            self.error(BAD_VARIANT, f"multiplier {shown(number)} is not above 0 and at most {MAX_MULTIPLIER}",
                       number.span, "a variant scales prices by a positive factor: `* 0.5` halves them")

    def _model_variants(self, model: ast.Model, base: dict[str, list[ast.RateTable]]) -> None:
        """A model's variants: declared values, each once; own tables only where the model has tables, pricing
        only its rates, in its tiers, never two in force at once in a region."""
        self._model_windows(model)
        self._variant_combinations(model, base)
        seen: dict[str, ast.ModelVariant] = {}
        types = set(model.token_types())
        for variant in model.variants:
            name = variant.name.text
            if name not in self.variant_values:
                self.error(BAD_VARIANT, f"'{name}' is not a variant the book declares", variant.name.span,
                           did_you_mean(name, self.variant_values) or "declare it: `variant FIELD = VALUE, ...`")
                continue
            if name in seen:
                self.error(BAD_VARIANT, f"model '{model.name.text}' prices variant '{name}' twice",
                           variant.name.span, f"merge it with the one at {seen[name].span}")
                continue
            seen[name] = variant
            if variant.multiplier is not None:
                self._multiplier(variant.multiplier)
            covered: dict[str, list[tuple]] = defaultdict(list)
            for table in variant.tables:
                start, end = self._range(table.effective) if table.effective else (None, None)
                for region in self._table_regions(table):
                    self._variant_table(model, name, table, region, base.get(region))
                    if any(_overlaps(start, end, s, e) for s, e in covered[region]):
                        self.error(OVERLAPPING_DATES, f"region '{region}' of variant '{name}' of model "
                                   f"'{model.name.text}' has two rate tables in force at once", table.span,
                                   "give the tables effective date ranges that do not overlap")
                    covered[region].append((start, end))
                self._rows(model, table, set(), start, end)
                for rate in (r for row in table.rows for r in row.rates if r.token_type.text not in types):
                    self.error(VARIANT_MISMATCH, f"variant '{name}' prices '{rate.token_type.text}', which model "
                               f"'{model.name.text}' does not", rate.token_type.span,
                               did_you_mean(rate.token_type.text, types) or "a variant prices the model's rates only")

    def _variant_table(self, model: ast.Model, name: str, table: ast.RateTable, region: str,
                       base: list[ast.RateTable] | None) -> None:
        if not base:
            self.error(VARIANT_MISMATCH, f"variant '{name}' of model '{model.name.text}' has a table for region "
                       f"'{region}', where the model has none", table.span,
                       "a variant changes the model's prices where it has them: add the model's table first")
            return
        bounds = _tier_labels(table)
        if bounds is not None and any(_tier_labels(t) != bounds for t in base):
            self.error(VARIANT_MISMATCH, f"the tiers of variant '{name}' in region '{region}' are not those of "
                       f"model '{model.name.text}' there", table.span,
                       "write the model's tier rows, or one flat row for every tier")

    # -- limits -----------------------------------------------------------

    def _money_range(self, number: ast.Number, what: str) -> int | None:
        """A price's (or an expected amount's) exponent if it is within the digits the engine keeps exact, else
        None (reported)."""
        _, digits, exponent = number.value.as_tuple()  # a literal is finite: the exponent is an int
        significant, decimals = len(digits), max(0, -exponent)
        if significant <= MAX_PRICE_DIGITS and decimals <= MAX_PRICE_DECIMALS:
            return exponent
        self.error(PRICE_RANGE, f"{what} {shown(number)} has more digits than ratecard keeps exact "
                   f"({significant:,} significant, {decimals:,} after the point)", number.span, f"write at most {MAX_PRICE_DIGITS} significant digits and at most "
                   f"{MAX_PRICE_DECIMALS} decimals; quote a tiny price per 1K or 1M tokens")
        return None

    def _token_range(self, number: ast.Number, what: str) -> bool:
        """Is a token count of the book (a tier bound, a free quota) at most 10**15? Reports it if not."""
        if number.value <= MAX_TIER_TOKENS:
            return True
        self.error(COUNT_RANGE, f"{what} of {shown(number)} tokens is more than ratecard handles", number.span,
                   f"write at most {MAX_TIER_TOKENS:,} (10**15) tokens")
        return False

    # -- quota ------------------------------------------------------------

    def _quota(self, quota: ast.Quota, token_types: set[str]) -> None:
        free = quota.clause(ast.QuotaFree)
        if not free:
            self.error(MISSING_SETTING, f"quota '{quota.name.text}' does not say how much is free", quota.name.span,
                       "add `free 1M tokens per account`")
        for clause in free:
            if not self._token_range(clause.tokens, "a free quota"):
                continue
            if clause.tokens.value <= 0 or clause.tokens.value != clause.tokens.value.to_integral_value():
                self.error(BAD_QUOTA, f"a quota of {shown(clause.tokens)} tokens", clause.tokens.span,
                           "a free quota is a positive whole number of tokens")
        for clause in quota.clause(ast.QuotaWindow):
            if clause.unit.text not in WINDOW_UNITS:
                self.error(BAD_QUOTA, f"unknown time unit '{clause.unit.text}'", clause.unit.span,
                           did_you_mean(clause.unit.text, WINDOW_UNITS) or "use days or months")
            longest = MAX_WINDOW.get(clause.unit.text)
            if longest is not None and clause.length.value > longest:
                unit = clause.unit.text.rstrip("s") + "s"
                self.error(WINDOW_RANGE, f"a quota window of {shown(clause.length)} {unit} is longer than ratecard "
                           "handles", clause.length.span, f"a window is at most {MAX_WINDOW['months']:,} months "
                           f"or {MAX_WINDOW['days']:,} days")
            elif clause.length.value <= 0 or clause.length.value != clause.length.value.to_integral_value():
                self.error(BAD_QUOTA, f"a quota window of {shown(clause.length)}", clause.length.span,
                           "the window is a positive whole number of days or months")
        for clause in quota.clause(ast.QuotaConsume):
            for name in clause.token_types:
                if not self._token_meter(name, "a free quota is of tokens"):
                    continue
                if name.text not in token_types:
                    self.error(UNKNOWN_TOKEN_TYPE, f"quota consumes '{name.text}' tokens, which no model prices",
                               name.span, did_you_mean(name.text, token_types))
        if not quota.clause(ast.QuotaConsume):
            self.error(MISSING_SETTING, f"quota '{quota.name.text}' does not say which tokens it covers",
                       quota.name.span, "add `consume input, output`")


_UNIT_SUFFIXES = {"_" + word for word in WORDS}


def _tier_labels(table: ast.RateTable) -> tuple | None:
    """A table's tier bounds as values (None for a flat table)."""
    if all(row.bounds is None for row in table.rows):
        return None
    return tuple((row.bounds.lower.value, row.bounds.upper and row.bounds.upper.value) for row in table.rows
                 if row.bounds is not None)


def _dates_text(start, end) -> str:
    return " ".join(part for part in (start and f"from {start.isoformat()}", end and f"until {end.isoformat()}")
                    if part)


def _combinations(counts: Mapping[str, int], exclusive: list[set[str]], limit: int) -> int:
    """How many combinations of values (one or none per field, at least one in all; never two fields of one
    `exclusive` set) `counts` values per field give; counting stops once past `limit`."""
    fields = [field for field, count in counts.items() if count]
    total = 0

    def walk(index: int, chosen: frozenset[str], product: int) -> None:
        nonlocal total
        if total > limit:
            return
        if index == len(fields):
            total += product if chosen else 0
            return
        walk(index + 1, chosen, product)
        field = fields[index]
        if not any(field in group and chosen & group for group in exclusive):
            walk(index + 1, chosen | {field}, product * counts[field])

    walk(0, frozenset(), 1)
    return total


def _overlaps(start_a, end_a, start_b, end_b) -> bool:
    """Do two half-open ranges [start, end) overlap? None means unbounded."""
    a_before_b = end_a is not None and start_b is not None and end_a <= start_b
    b_before_a = end_b is not None and start_a is not None and end_b <= start_a
    return not (a_before_b or b_before_a)


def shown(number: ast.Number) -> str:
    """A number as written, abbreviated when it is too long for a message."""
    text = number.text
    if len(text) <= SHOWN_DIGITS:
        return text
    return f"{text[:10]}...{text[-6:]} ({len(text):,} characters)"
