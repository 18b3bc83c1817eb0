"""Comparing two price books, and what the change does to bills.

Takes two compiled `PriceBook`s, old and new, and gives a `BookDiff`: every
price that changed (model, region or group, dates, tier, token type,
currency: old -> new), token types that became or stopped being `not billed`,
tiers split or merged, dated tables moved, regions added, removed, renamed or
moved between groups, models added or removed, settings of the book, its
quota, its trial and its models changed, and the worked examples (of either
book) that the two books price differently. Per-region changes are gathered
back into groups: when every region of a group changed alike, that is one
change of the group.

Prices are compared per token, and given per pricing unit as the books write
them (when the unit changed, a setting of its own, both sides are given per
unit of the new book). Percentages are exact to 30 significant
digits.

`bill_impact` bills the same usage with both books (the reference engine,
`billing.bill`) and gives an `Impact`: the billed totals, per account, model
and region, old and new, and every record that one book bills and the other
rejects, with the other's reason; `read = both + only_old + only_new + neither`.

The renderers (text, JSON, Markdown) are in `cli/diff_render.py`.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from datetime import datetime, tzinfo
from decimal import Decimal

import attrs

from .billing import Bill, bill
from .errors import PricingError, RatecardError
from .moments import WINDOW_FIELD
from .money import EXACT, ZERO, exact_sum
from .records import UsageFiles
from .tables import (Example, Offer, PriceBook, RateUnit, TierTable, UnitPrice, Variant, in_force_from,
                     model_aliases, selector_text)
from .units import TOKENS

frozen = attrs.frozen(slots=True)

#: Percent changes: 30 significant digits, exact whenever the ratio terminates within them.
PERCENT = decimal.Context(prec=30, rounding=decimal.ROUND_HALF_EVEN, traps=[decimal.InvalidOperation])


class NoCommonCurrency(RatecardError):
    code = "E513"


class UsageReadTwice(RatecardError):
    code = "E514"


def percent_change(old: Decimal | None, new: Decimal | None) -> Decimal | None:
    """(new - old) / old in percent, or None when a side is missing or old is zero."""
    if old is None or new is None or not old:
        return None
    return PERCENT.divide(EXACT.multiply(EXACT.subtract(new, old), 100), old)


# --- what a diff holds ----------------------------------------------------------------------------

@frozen
class Place:
    """Where a change applies: a group (all its regions changed alike), or regions outside any such group that
    changed alike (named by their IDs, comma-separated)."""

    name: str
    regions: tuple[str, ...]
    is_group: bool


@frozen
class SettingChange:
    subject: str  # "book", "quota", "trial", "window <name>" or "model <name>"
    setting: str
    old: str | None  # None: the old book has no such setting (no quota, ...)
    new: str | None


@frozen
class RegionChange:
    """A region added (old_names None), removed (new_names None), or given other display names."""

    region: str
    old_names: tuple[str, ...] | None
    new_names: tuple[str, ...] | None


@frozen
class RegionMove:
    region: str
    old_groups: tuple[str, ...]
    new_groups: tuple[str, ...]


@frozen
class GroupChange:
    """A group added (old_regions None) or removed (new_regions None); a changed membership is a RegionMove."""

    group: str
    old_regions: tuple[str, ...] | None
    new_regions: tuple[str, ...] | None


@frozen
class PriceChange:
    """One price, per pricing unit of the new book: old -> new; None on the side that has no such price."""

    model: str
    place: Place
    period: str | None  # when the change applies (`from ... until ...`), None: always
    tier: str  # its bounds, as the book writes them (`0 < T <= 128K`, `all`)
    token_type: str
    currency: str
    old: Decimal | None
    new: Decimal | None
    unit: str | None = None  # the pricing unit of a rate priced in another unit than tokens (`1K searches`)

    @property
    def kind(self) -> str:
        return "new" if self.old is None else "removed" if self.new is None else "changed"

    @property
    def percent(self) -> Decimal | None:
        return percent_change(self.old, self.new)


@frozen
class NotBilledChange:
    """A token type of a tier that became (new True) or stopped being (old True) `not billed`."""

    model: str
    place: Place
    period: str | None
    tier: str
    token_type: str
    old: bool
    new: bool


@frozen
class TierChange:
    """The tier bounds of a model in a place changed (split, merged, moved): the old and new tier lists."""

    model: str
    place: Place
    period: str | None
    old: tuple[str, ...]
    new: tuple[str, ...]


@frozen
class DatesChange:
    """The effective dates of a model's rate tables in a place changed: the old and new ranges."""

    model: str
    place: Place
    old: tuple[str, ...]
    new: tuple[str, ...]


@frozen
class ExampleResult:
    """What one book gives for an example's request: the total, or why it cannot price it."""

    total: Decimal | None  # exact
    rounded: Decimal | None
    currency: str
    error: str | None = None
    code: str | None = None


@frozen
class ExampleChange:
    title: str
    request: str  # `us-east-1 qwen-plus input 750 output 20`
    old: ExampleResult
    new: ExampleResult

    @property
    def percent(self) -> Decimal | None:
        return percent_change(self.old.total, self.new.total)


@frozen
class BookDiff:
    old_book: str
    new_book: str
    unit: str  # the new book's pricing unit, in which prices are given (`1K tokens`)
    settings: tuple[SettingChange, ...]
    models_added: tuple[str, ...]
    models_removed: tuple[str, ...]
    regions: tuple[RegionChange, ...]
    groups: tuple[GroupChange, ...]
    moves: tuple[RegionMove, ...]
    prices: tuple[PriceChange, ...]
    not_billed: tuple[NotBilledChange, ...]
    tiers: tuple[TierChange, ...]
    dates: tuple[DatesChange, ...]
    examples_added: tuple[str, ...]
    examples_removed: tuple[str, ...]
    examples: tuple[ExampleChange, ...]

    @property
    def changed(self) -> bool:
        return any((self.settings, self.models_added, self.models_removed, self.regions, self.groups, self.moves,
                    self.prices, self.not_billed, self.tiers, self.dates, self.examples_added,
                    self.examples_removed, self.examples))


# --- comparing books ------------------------------------------------------------------------------

def diff_books(old: PriceBook, new: PriceBook) -> BookDiff:
    """Everything that differs between two compiled books."""
    places = _Places(old, new)
    tables = _TableChanges(old, new, places)
    examples_old, examples_new = {e.title for e in old.examples}, {e.title for e in new.examples}
    return BookDiff(
        old_book=old.name, new_book=new.name, unit=new.unit_label,
        settings=tuple(_setting_changes(old, new)),
        models_added=tuple(m for m in new.models if m not in old.models),
        models_removed=tuple(m for m in old.models if m not in new.models),
        regions=tuple(_region_changes(old, new)),
        groups=tuple(_group_changes(old, new)),
        moves=tuple(_region_moves(old, new)),
        prices=tables.prices(), not_billed=tables.not_billed(), tiers=tables.tiers(), dates=tables.dates(),
        examples_added=tuple(e.title for e in new.examples if e.title not in examples_old),
        examples_removed=tuple(e.title for e in old.examples if e.title not in examples_new),
        examples=tuple(_example_changes(old, new)),
    )


def _setting_changes(old: PriceBook, new: PriceBook) -> Iterable[SettingChange]:
    for subject, before, after in (("book", _book_settings(old), _book_settings(new)),
                                   ("quota", _quota_settings(old), _quota_settings(new)),
                                   ("trial", _trial_settings(old), _trial_settings(new))):
        yield from _compare_settings(subject, before, after)
    old_windows, new_windows = ({window.name: window for window in book.windows} for book in (old, new))
    for name in [*old_windows, *(n for n in new_windows if n not in old_windows)]:
        yield from _compare_settings(f"window {name}", _window_settings(old_windows.get(name)),
                                     _window_settings(new_windows.get(name)))
    old_selectors, new_selectors = _selectors(old), _selectors(new)
    for model in (m for m in new.models if m in old.models):
        yield from _compare_settings(f"model {model}", _model_settings(old, model, old_selectors[model]),
                                     _model_settings(new, model, new_selectors[model]))


def _compare_settings(subject: str, old: dict[str, str] | None, new: dict[str, str] | None
                      ) -> Iterable[SettingChange]:
    """Each setting that differs; a subject one side lacks is one change, shown by its first setting."""
    if old is None or new is None:
        if old != new:
            yield SettingChange(subject, subject, old and next(iter(old.values())), new and next(iter(new.values())))
        return
    for name in old:
        if old[name] != new[name]:
            yield SettingChange(subject, name, old[name], new[name])


def _book_settings(book: PriceBook) -> dict[str, str]:
    return {"name": book.name, "title": book.title, "source": book.source or "none",
            "currencies": ", ".join(book.currencies), "unit": f"per {book.unit_label}", "cycle": book.cycle,
            "zone": str(book.zone), "rounding": f"{book.round_places} {_mode_text(book.round_mode)}",
            "in force from": _moment(book.start), "in force until": _moment(book.end),
            "variants": "; ".join(f"{field} = " + ", ".join(
                name + (f" * {variant.multiplier}" if variant.multiplier is not None else "")
                for name, variant in book.variants.items() if variant.field == field)
                for field in book.variant_fields if field != WINDOW_FIELD) or "none",
            "exclusive": "; ".join(", ".join(f for f in book.variant_fields if f in fields)
                                   for fields in book.exclusive) or "none"}


def _window_settings(window: Variant | None) -> dict[str, str] | None:
    """A time window's hours (`16:30 to 00:30 in UTC`) and the book's multiplier for it."""
    if window is None:
        return None
    return {"hours": window.window.describe(),
            "multiplier": "none" if window.multiplier is None else f"* {window.multiplier} for every model"}


def _quota_settings(book: PriceBook) -> dict[str, str] | None:
    quota = book.quota
    if quota is None:
        return None
    return {"quota": quota.name, "title": quota.title, "free tokens": f"{quota.free_tokens:,} per account",
            "window": f"{quota.window_length} {quota.window_unit} from first use",
            "consumes": ", ".join(quota.consumes)}


def _trial_settings(book: PriceBook) -> dict[str, str] | None:
    trial = book.trial
    return None if trial is None else {"until": _moment(trial.until), "reason": trial.reason}


def _selectors(book: PriceBook) -> dict[str, set[str]]:
    """Each model's tier selectors (the token types whose per-request sum chooses the tier; a sum in any order)."""
    found: dict[str, set[str]] = {model: set() for model in book.models}
    for (model, _), offer in book.offers.items():
        found[model].add(selector_text(tuple(sorted(offer.selector))))
    return found


def _model_settings(book: PriceBook, model: str, selectors: set[str]) -> dict[str, str]:
    # Token types as a set: the order rates are written in a row has no meaning.
    return {"tier by": ", ".join(sorted(selectors)) + " tokens per request",
            "token types": ", ".join(sorted(book.models[model])),
            "aliases": ", ".join(sorted(model_aliases(book, model))) or "none",
            "variants": ", ".join(sorted({name for (m, _), offer in book.offers.items() if m == model
                                          for combination in offer.variants for name in combination})) or "none"}


def _mode_text(mode: str) -> str:
    return mode.removeprefix("ROUND_").lower().replace("_", "-")


def _moment(moment: datetime | None) -> str:
    return "always" if moment is None else moment.isoformat()


def _region_changes(old: PriceBook, new: PriceBook) -> Iterable[RegionChange]:
    for region_id, region in new.regions.items():
        before = old.regions.get(region_id)
        if before is None or before.display_names != region.display_names:
            yield RegionChange(region_id, before and before.display_names, region.display_names)
    for region_id, region in old.regions.items():
        if region_id not in new.regions:
            yield RegionChange(region_id, region.display_names, None)


def _group_changes(old: PriceBook, new: PriceBook) -> Iterable[GroupChange]:
    yield from (GroupChange(g, None, members) for g, members in new.groups.items() if g not in old.groups)
    yield from (GroupChange(g, members, None) for g, members in old.groups.items() if g not in new.groups)


def _region_moves(old: PriceBook, new: PriceBook) -> Iterable[RegionMove]:
    """Regions of both books whose groups differ (a region in no group, or in a group only one book has)."""
    for region_id in new.regions:
        if region_id in old.regions:
            before, after = _groups_of(old, region_id), _groups_of(new, region_id)
            if before != after:
                yield RegionMove(region_id, before, after)


def _groups_of(book: PriceBook, region_id: str) -> tuple[str, ...]:
    return tuple(g for g, members in book.groups.items() if region_id in members)


# --- rate tables ----------------------------------------------------------------------------------

class _Places:
    """Gathers the regions that changed alike into groups, and orders places as the books do."""

    def __init__(self, old: PriceBook, new: PriceBook) -> None:
        groups = dict(old.groups) | dict(new.groups)  # a group both books have: as the new book has it
        # Larger groups first, so that a group wins over a smaller one inside it; then in book order.
        self.groups = sorted(groups.items(), key=lambda item: -len(item[1]))
        self.group_rank = {name: rank for rank, name in enumerate(dict.fromkeys([*new.groups, *old.groups]))}
        self.region_rank = {r: rank for rank, r in enumerate(dict.fromkeys([*new.regions, *old.regions]))}

    def cover(self, regions: Iterable[str]) -> list[Place]:
        """The places that name exactly these regions: every group all of whose regions are among them, then
        the regions left over, together (they changed alike)."""
        remaining = set(regions)
        places = []
        for name, members in self.groups:
            if members and remaining.issuperset(members):
                places.append(Place(name, tuple(members), True))
                remaining.difference_update(members)
        if remaining:
            left = tuple(sorted(remaining, key=lambda r: (self.region_rank.get(r, len(self.region_rank)), r)))
            places.append(Place(", ".join(left), left, False))
        return places

    def rank(self, place: Place) -> tuple:
        if place.is_group:
            return (0, self.group_rank.get(place.name, 0))
        return (1, self.region_rank.get(place.regions[0], len(self.region_rank)), place.name)


@frozen
class _TablePair:
    """The tables of one offer in force in each book (None where a book has none) over one period."""

    old: TierTable | None
    new: TierTable | None
    period: str | None  # `from ... until ...`, None: always


def _period(table: TierTable) -> str | None:
    return _range_text(table.start, table.end)


def _range_text(start: datetime | None, end: datetime | None) -> str | None:
    if start is None and end is None:
        return None
    parts = ([f"from {start.isoformat()}"] if start else []) + ([f"until {end.isoformat()}"] if end else [])
    return " ".join(parts)


def _pair_tables(old: Offer | None, new: Offer | None) -> list[_TablePair]:
    """The offer's tables in both books: in date order when both have as many; else over the periods between
    every date either book has, the tables each book has in force then (a price changed on one rate splits a
    table in two: its prices are compared with the one table the other book has then)."""
    before, after = (old.tables if old else ()), (new.tables if new else ())
    if len(before) == len(after):
        return [_TablePair(o, n, _period(n)) for o, n in zip(before, after)]
    moments = sorted({m for table in (*before, *after) for m in (table.start, table.end) if m is not None})
    periods: list[tuple[TierTable | None, TierTable | None, datetime | None, datetime | None]] = []
    for start, end in zip([None, *moments], [*moments, None]):
        old_table, new_table = in_force_from(before, start), in_force_from(after, start)
        if old_table is None and new_table is None:
            continue
        if periods and periods[-1][0] is old_table and periods[-1][1] is new_table and periods[-1][3] == start:
            periods[-1] = (old_table, new_table, periods[-1][2], end)  # the same tables go on: one period
        else:
            periods.append((old_table, new_table, start, end))
    return [_TablePair(o, n, _range_text(start, end)) for o, n, start, end in periods]


class _TableChanges:
    """Compares every model's tables region by region, then gathers alike changes into places."""

    def __init__(self, old: PriceBook, new: PriceBook, places: _Places) -> None:
        self.old, self.new, self.places = old, new, places
        self.unit_tokens = new.unit_tokens
        self.found: dict[tuple, set[str]] = {}  # a change, less its region -> the regions it is found in
        self.tables_seen: dict[int, tuple[dict, set, dict]] = {}  # id of a table (both books keep theirs) -> cells
        self.model_rank = {m: (rank, "") for rank, m in enumerate(dict.fromkeys([*new.models, *old.models]))}
        self.type_rank = {t: rank for rank, t in enumerate(dict.fromkeys(
            t for book in (new, old) for types in book.models.values() for t in types))}
        self.currency_rank = {c: rank for rank, c in enumerate(dict.fromkeys([*new.currencies, *old.currencies]))}
        for model, region_id in dict.fromkeys([*new.offers, *old.offers]):
            before, after = old.offers.get((model, region_id)), new.offers.get((model, region_id))
            self._compare_offer(model, region_id, before, after)
            for name in dict.fromkeys(v for offer in (after, before) if offer for (v, *more) in offer.variants
                                      if not more):  # each variant on its own: `gpt-5 [flex]`
                label = f"{model} [{name}]"
                self.model_rank.setdefault(label, (self.model_rank[model][0], name))
                self._compare_offer(label, region_id, before and before.variants.get((name,)),
                                    after and after.variants.get((name,)))

    def _add(self, change: tuple, region_id: str) -> None:
        self.found.setdefault(change, set()).add(region_id)

    def _compare_offer(self, model: str, region_id: str, old: Offer | None, new: Offer | None) -> None:
        pairs = _pair_tables(old, new)
        if old is not None and new is not None:
            before = tuple(_period(t) or "always" for t in old.tables)
            after = tuple(_period(t) or "always" for t in new.tables)
            if before != after:
                self._add(("dates", model, before, after), region_id)
        for pair in pairs:
            self._compare_tables(model, region_id, pair)

    def _compare_tables(self, model: str, region_id: str, pair: _TablePair) -> None:
        period = pair.period
        old_cells, old_free, old_labels, old_units = self._cells(pair.old)
        new_cells, new_free, new_labels, new_units = self._cells(pair.new)
        labels = old_labels | new_labels  # bounds -> label, as the new book writes it where it has the tier
        if pair.old is not None and pair.new is not None:
            before, after = tuple(old_labels.values()), tuple(new_labels.values())
            if tuple(old_labels) != tuple(new_labels):
                self._add(("tiers", model, period, before, after), region_id)
        for key in dict.fromkeys([*new_cells, *old_cells]):
            before, after = old_cells.get(key), new_cells.get(key)
            if (before and before.per_token) != (after and after.per_token):
                bounds, token_type, currency = key
                unit = new_units.get((bounds, token_type)) or old_units.get((bounds, token_type))
                self._add(("price", model, period, bounds, labels[bounds], token_type, currency,
                           self._per_unit(before, unit), self._per_unit(after, unit), unit and unit.label), region_id)
        for bounds, token_type in dict.fromkeys([*new_free, *old_free]):
            before, after = (bounds, token_type) in old_free, (bounds, token_type) in new_free
            if before != after:
                self._add(("not billed", model, period, bounds, labels[bounds], token_type, before, after),
                          region_id)

    def _cells(self, table: TierTable | None) -> tuple[dict, set, dict, dict]:
        """A table's prices by (bounds, token type, currency), its not-billed (bounds, token type)s, its tier
        labels by bounds, in tier order, and the units of its rates priced in another unit than tokens by (bounds,
        token type). Made once per table: the regions of a group share theirs."""
        found = self.tables_seen.get(id(table))
        if found is None:
            found = self.tables_seen[id(table)] = self._read_cells(table)
        return found

    @staticmethod
    def _read_cells(table: TierTable | None) -> tuple[dict, set, dict, dict]:
        cells, free, labels, units = {}, set(), {}, {}
        for tier in (table.tiers if table else ()):
            bounds = (tier.lower, tier.upper)
            labels[bounds] = tier.label
            units.update(((bounds, meter), rate_unit) for meter, rate_unit in tier.rate_units.items()
                         if rate_unit.unit != TOKENS)
            for currency, prices in tier.prices.items():
                for token_type, price in prices.items():
                    cells[(bounds, token_type, currency)] = price
            free.update((bounds, token_type) for token_type in tier.not_billed)
        return cells, free, labels, units

    def _per_unit(self, price: UnitPrice | None, unit: RateUnit | None = None) -> Decimal | None:
        """The price per pricing unit of the new book (or of the rate's own unit, when it is not tokens)."""
        if price is None:
            return None
        if unit is not None:
            return EXACT.multiply(price.per_token, unit.size).normalize(EXACT)
        per_book_unit = EXACT.multiply(price.per_token, self.unit_tokens)
        if per_book_unit == price.per_unit:  # written per the book's unit: as written
            return price.per_unit
        return per_book_unit.normalize(EXACT)

    def _of_kind(self, kind: str) -> Iterable[tuple[tuple, Place]]:
        for change, regions in self.found.items():
            if change[0] == kind:
                for place in self.places.cover(regions):
                    yield change, place

    def _tier_order(self, bounds: tuple[int, int | None]) -> tuple:
        lower, upper = bounds
        return (lower, upper is None, upper or 0)

    def prices(self) -> tuple[PriceChange, ...]:
        found = [(change, place) for change, place in self._of_kind("price")]
        found.sort(key=lambda item: (self.model_rank[item[0][1]], item[0][2] or "", self.places.rank(item[1]),
                                     self._tier_order(item[0][3]), self.type_rank.get(item[0][5], 0),
                                     self.currency_rank.get(item[0][6], 0)))
        return tuple(PriceChange(model, place, period, label, token_type, currency, before, after, unit)
                     for (_, model, period, _, label, token_type, currency, before, after, unit), place in found)

    def not_billed(self) -> tuple[NotBilledChange, ...]:
        found = sorted(self._of_kind("not billed"), key=lambda item: (
            self.model_rank[item[0][1]], item[0][2] or "", self.places.rank(item[1]), self._tier_order(item[0][3]),
            self.type_rank.get(item[0][5], 0)))
        return tuple(NotBilledChange(model, place, period, label, token_type, before, after)
                     for (_, model, period, _, label, token_type, before, after), place in found)

    def tiers(self) -> tuple[TierChange, ...]:
        found = sorted(self._of_kind("tiers"), key=lambda item: (
            self.model_rank[item[0][1]], item[0][2] or "", self.places.rank(item[1])))
        return tuple(TierChange(model, place, period, before, after)
                     for (_, model, period, before, after), place in found)

    def dates(self) -> tuple[DatesChange, ...]:
        found = sorted(self._of_kind("dates"), key=lambda item: (self.model_rank[item[0][1]],
                                                                  self.places.rank(item[1])))
        return tuple(DatesChange(model, place, before, after) for (_, model, before, after), place in found)


# --- worked examples ------------------------------------------------------------------------------

def _example_changes(old: PriceBook, new: PriceBook) -> Iterable[ExampleChange]:
    """Each example of either book (one per distinct request) that the two books price differently."""
    requests: dict[tuple, Example] = {}
    for example in (*new.examples, *old.examples):
        requests.setdefault(_request_key(example), example)
    for example in requests.values():
        before, after = example_result(old, example), example_result(new, example)
        if (before.total, before.code) != (after.total, after.code):
            yield ExampleChange(example.title, _request_text(example), before, after)


def example_result(book: PriceBook, example: Example) -> ExampleResult:
    """What `book` gives for `example`'s request (as `examples.failure` quotes it)."""
    try:
        quote = book.quote(region=example.place, model=example.model, tokens=dict(example.tokens),
                           requests=example.requests, currency=example.currency, at=example.at)
    except PricingError as error:
        return ExampleResult(None, None, example.currency, error.message, error.code)
    return ExampleResult(quote.total, quote.total_rounded, quote.currency)


def _request_key(example: Example) -> tuple:
    return (example.place, example.model, example.tokens, example.requests, example.at, example.currency)


def _request_text(example: Example) -> str:
    text = " ".join([example.place, example.model, *(f"{t} {n}" for t, n in example.tokens)])
    if example.requests != 1:
        text += f" requests {example.requests}"
    if example.at is not None:
        text += f" at {example.at.isoformat()}"
    return text


# --- bill impact ----------------------------------------------------------------------------------

@frozen
class AmountChange:
    """One billed amount (after credits) in both bills: the whole bill, an account, a model or a region."""

    name: str
    old: Decimal  # exact
    new: Decimal
    old_rounded: Decimal  # as each book rounds (an account's invoice; a model's or region's allocated lines)
    new_rounded: Decimal

    @property
    def change(self) -> Decimal:
        return EXACT.subtract(self.new, self.old)

    @property
    def change_rounded(self) -> Decimal:
        return EXACT.subtract(self.new_rounded, self.old_rounded)

    @property
    def percent(self) -> Decimal | None:
        return percent_change(self.old, self.new)

    @property
    def changed(self) -> bool:
        return self.old != self.new


@frozen
class OneSided:
    """A record one book bills and the other rejects: where it is, and the other book's reason."""

    source: str
    line: int
    record: str
    billed_by: str  # "old" or "new"
    code: str
    reason: str


@frozen
class Impact:
    currency: str
    total: AmountChange
    accounts: tuple[AmountChange, ...]  # every account of either bill, by name
    models: tuple[AmountChange, ...]
    regions: tuple[AmountChange, ...]
    read: int
    both: int  # billed by both books
    only_old: tuple[OneSided, ...]  # billed by the old book only (the new one rejects them)
    only_new: tuple[OneSided, ...]
    neither: int

    @property
    def changed(self) -> bool:
        return bool(self.total.changed or self.only_old or self.only_new
                    or any(row.changed for rows in (self.accounts, self.models, self.regions) for row in rows))


def common_currency(old: PriceBook, new: PriceBook, currency: str | None = None) -> str:
    """The currency both bills are in: `currency`, else the first of the old book's the new one has too."""
    if currency is not None:
        missing = [b.name for b in (old, new) if currency not in b.currencies]
        if missing:
            raise NoCommonCurrency(f"{' and '.join(dict.fromkeys(missing))} has no prices in {currency}",
                                   f"the old book prices in {', '.join(old.currencies)}, the new one in "
                                   f"{', '.join(new.currencies)}")
        return currency
    shared = [c for c in old.currencies if c in new.currencies]
    if not shared:
        raise NoCommonCurrency(f"the books have no currency in common ({', '.join(old.currencies)} against "
                               f"{', '.join(new.currencies)}), so their bills cannot be compared",
                               "compare the price lists without --usage")
    return shared[0]


def bill_impact(old: PriceBook, new: PriceBook, usage: UsageFiles | Iterable[Mapping],
                currency: str | None = None, assume_tz: tzinfo | None = None) -> Impact:
    """Bill `usage` (usage files, or records: dicts or `UsageRecord`s) with both books and compare the bills."""
    currency = common_currency(old, new, currency)
    if isinstance(usage, UsageFiles):
        if any(u.is_stdin for u in usage.inputs):
            raise UsageReadTwice("standard input cannot be billed by both books",
                                 "save the usage to a file and pass its path")
    else:
        usage = list(usage)  # billed twice: an iterator would be empty the second time
    before = bill(old, usage, currency=currency, assume_tz=assume_tz)
    after = bill(new, usage, currency=currency, assume_tz=assume_tz)
    return _impact(before, after, currency)


def _impact(before: Bill, after: Bill, currency: str) -> Impact:
    old_rejects = {(r.source, r.line): r for r in before.rejects}
    new_rejects = {(r.source, r.line): r for r in after.rejects}
    only_old = tuple(_one_sided(r, "old") for key, r in new_rejects.items() if key not in old_rejects)
    only_new = tuple(_one_sided(r, "new") for key, r in old_rejects.items() if key not in new_rejects)
    neither = sum(1 for key in old_rejects if key in new_rejects)
    old_total, new_total = before.totals[currency], after.totals[currency]
    # What a bill without an account, model or region has of it: nothing, to each book's places.
    zeros = (ZERO.quantize(old_total.billed_rounded), ZERO.quantize(new_total.billed_rounded))
    return Impact(
        currency=currency,
        total=AmountChange("total", old_total.billed, new_total.billed, old_total.billed_rounded,
                           new_total.billed_rounded),
        accounts=_account_changes(before, after, zeros),
        models=_line_changes(before, after, lambda line: line.model, zeros),
        regions=_line_changes(before, after, lambda line: line.region, zeros),
        read=before.read, both=before.read - len(only_old) - len(only_new) - neither,
        only_old=only_old, only_new=only_new, neither=neither)


def _one_sided(reject, billed_by: str) -> OneSided:
    """A record billed by `billed_by`, from the other book's reject of it."""
    return OneSided(reject.source, reject.line, reject.record, billed_by, reject.code, reject.reason)


def _account_changes(before: Bill, after: Bill, zeros: tuple[Decimal, Decimal]) -> tuple[AmountChange, ...]:
    sums = [{name: (totals.billed, totals.billed_rounded) for name, totals in result.accounts.items()}
            for result in (before, after)]
    return _changes(sums, zeros)


def _line_changes(before: Bill, after: Bill, key, zeros: tuple[Decimal, Decimal]) -> tuple[AmountChange, ...]:
    """The bills' lines summed by `key` (a model, a region): exact amounts, and the allocated rounded ones."""
    return _changes([_sum_lines(before, key), _sum_lines(after, key)], zeros)


def _changes(sums: list[dict[str, tuple[Decimal, Decimal]]], zeros: tuple[Decimal, Decimal]
             ) -> tuple[AmountChange, ...]:
    """One change per name of either bill's (exact, rounded) sums, by name; nothing where a bill has no such name."""
    old, new = sums
    rows = []
    for name in sorted({*old, *new}):
        old_exact, old_rounded = old.get(name, (ZERO, zeros[0]))
        new_exact, new_rounded = new.get(name, (ZERO, zeros[1]))
        rows.append(AmountChange(name, old_exact, new_exact, old_rounded, new_rounded))
    return tuple(rows)


def _sum_lines(result: Bill, key) -> dict[str, tuple[Decimal, Decimal]]:
    amounts: dict[str, list[Decimal]] = {}
    rounded: dict[str, list[Decimal]] = {}
    for line in result.lines:
        amount = line.amount
        amounts.setdefault(key(line), []).append(amount)
        rounded.setdefault(key(line), []).append(line.rounded(amount))
    return {name: (exact_sum(amounts[name]), exact_sum(rounded[name])) for name in amounts}
