"""Price books from the `genai-prices` catalogue (its installed Python data, never the network).

How the catalogue prices a request (genai-prices 0.2, `ModelPrice.calc_price`):

- Usage counts are nested: `input_tokens` is the whole prompt, and `cache_read_tokens`,
  `cache_write_tokens`, `input_audio_tokens`, ... are parts of it. A price applies to the
  *leaf* count: the tokens of its type not counted under a more specific priced type
  (an unpriced part, e.g. cached tokens of a model with no cache price, stays in `input`).
  The books written here use the leaf counts as their token types, so `input` counts the
  prompt tokens that no other priced type of the model counts.
- `TieredPrices` is a cliff: the tier is chosen by the whole prompt (`input_tokens`, i.e.
  the sum of every input-side leaf) and a tier starting at S applies when that sum > S, to
  every token of the rate: `tier by <input-side types> tokens per request`, rows
  `S1 < T <= S2`. A rate without tiers has the same price in every row.
- `ConditionalPrice` with a `StartDateConstraint`: the latest started price applies from UTC
  midnight of its date (the first price also before its own date): `p0, p1 from DATE`.
- `ConditionalPrice` with a `TimeOfDateConstraint` (DeepSeek's hours; after the dated prices, so
  it wins whatever the date): a daily time window in UTC, named by its hours
  (`window utc-0030-to-1630 = 00:30 to 16:30 in UTC`), that the model prices with its own rates
  (`variant utc-0030-to-1630 { api { ... } }`). Windows of two models may overlap; one model's
  may not, and its window must price the same types as the model (a window replaces every price).
- `match` logic: only exact-equality names (`equals`, under `or`) become `alias`es.
- Units other than tokens become rates in their own unit (`METERS`): a price per 1K web
  searches is `web 10 per 1K searches` (usage column `web_searches`, the catalogue's own key),
  a price per 1K requests is a fee each request pays once (`request 5 per 1K requests`; the
  catalogue also counts one request per call). Audio priced per hour is written per second
  when that division is exact (`0.0001 per second` for $0.36 an hour), else reported.
- `price_variants` (service tiers, batch, speed, routes) become `variant FIELD = value, ...`
  in the book and `variant value { api ... }` in the model: the variant's partial prices as its
  own rates, each dated variant entry a table `effective from` its date (before it, the model's
  prices apply, as calc_price has it). When a request names variants of two fields, calc_price
  takes each price from the first matching entry of the model's list; the book's field order
  (`variant` statements) is that order, and a model whose list orders the fields otherwise is
  reported.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext

from ..moments import WINDOW_FIELD
from ..units import BY_WORD
from .common import (Entry, ProviderBook, Report, SourceMissing, UnknownProvider, first_error, is_name, make_name,
                     number, quoted)

SOURCE = "genai-prices"
INPUT_ORDER = ("input", "cache_read", "cache_write")

#: A usage key of the catalogue counted in another unit than tokens -> (meter, unit). The meter and
#: the unit make the usage column (`web` + `searches` = `web_searches`, as the catalogue names it);
#: where that would clash with a token type (`input_audio`), the meter says what it counts.
METERS = {
    "requests": ("request", "requests"),  # a fee: each request pays it once
    "web_searches": ("web", "searches"),
    "storage_searches": ("storage", "searches"),
    "social_searches": ("social", "searches"),
    "rerank_searches": ("rerank", "searches"),
    "input_document_pages": ("input_document", "pages"),
    "input_annotated_document_pages": ("input_annotated_document", "pages"),
    "input_characters": ("input_text", "characters"),
    "input_text_messages": ("input_text", "messages"),
    "audio_seconds": ("audio", "seconds"),
    "input_audio_seconds": ("input_audio_duration", "seconds"),
    "output_audio_seconds": ("output_audio_duration", "seconds"),
}
#: The catalogue's units per price (`per`) and how a rate writes them in the language.
_PRICING = {1: "", 1_000: "1K ", 1_000_000: "1M "}


def catalogue():
    """The installed catalogue: (version, providers, unit registry)."""
    try:
        import genai_prices
        from genai_prices import data_snapshot
        from genai_prices.units import _get_registry
    except ImportError:
        raise SourceMissing("genai-prices is not installed",
                           "install the import extra: pip install 'ratecard[import]'") from None
    return genai_prices.__version__, data_snapshot.get_snapshot().providers, _get_registry()


class Skip(Exception):
    def __init__(self, category: str, reason: str) -> None:
        super().__init__(reason)
        self.category, self.reason = category, reason


@dataclass
class VariantSpec:
    """One value of a variant field for one model: its own prices, period by period."""

    field: str
    value: str
    periods: list[tuple[date | None, date | None, dict[str, list[Decimal]]]]  # [from, until): meter -> row prices

    def block(self, spec: ModelSpec, region: str) -> list[str]:
        if not self.periods:
            return [f"  variant {self.value} * 1"]  # the catalogue lists it, and it changes no price
        lines = [f"  variant {self.value} {{"]
        for start, end, prices in self.periods:
            dates = "".join(f" {word} {d.isoformat()}T00:00Z" for word, d in (("from", start), ("until", end)) if d)
            head = f"    {region}" + (f" effective{dates}" if dates else "")
            rows = len(next(iter(prices.values())))
            if rows == 1:
                rates = "   ".join(f"{t} {number(p[0])}{spec.rate_units.get(t, '')}" for t, p in prices.items())
                lines.append(f"{head} {{ {rates} }}")
                continue
            lines.append(f"{head} {{")
            edges = [0, *spec.bounds]
            for i, start_at in enumerate(edges):
                tier = f"{start_at} < T <= {edges[i + 1]}" if i + 1 < len(edges) else f"{start_at} < T"
                rates = "   ".join(f"{t} {number(p[i])}{spec.rate_units.get(t, '')}" for t, p in prices.items())
                lines.append(f"      {tier}   {rates}")
            lines.append("    }")
        lines.append("  }")
        return lines


@dataclass
class ModelSpec:
    """One imported model: what its block says, and what the proof needs."""

    id: str
    title: str | None
    aliases: list[str]
    types: list[str]  # token types (leaf usage keys without `_tokens`), catalogue order
    input_types: list[str]  # the input-side ones: their sum chooses the tier
    bounds: list[int]  # tier starts (empty: flat)
    dates: list[date]  # dates of the price changes
    cells: dict[str, list[list[tuple[date | None, Decimal]]]]  # type -> per tier row -> [(from, price)]
    notes: list[str] = field(default_factory=list)
    usage_keys: dict[str, str] = field(default_factory=dict)  # type -> usage key
    rate_units: dict[str, str] = field(default_factory=dict)  # meter -> ` per 1K searches`, for non-token ones
    fees: list[str] = field(default_factory=list)  # meters paid once per request: never in a usage
    variants: list[VariantSpec] = field(default_factory=list)  # in the model's list order
    exclusive: list[tuple[str, str]] = field(default_factory=list)  # the book's variant fields no request combines
    windows: list[WindowSpec] = field(default_factory=list)  # its time-of-day prices' hours (UTC)
    window_prices: list[VariantSpec] = field(default_factory=list)  # the model's own rates in each window

    def contexts(self) -> list[dict[str, str]]:
        """The request contexts that exercise its variants: none, each value, and each pair of values of two
        fields the book lets a request combine."""
        out: list[dict[str, str]] = [{}, *({v.field: v.value} for v in self.variants)]
        for a, b in itertools.combinations(self.variants, 2):
            if a.field != b.field and (a.field, b.field) not in self.exclusive \
                    and (b.field, a.field) not in self.exclusive:
                out.append({a.field: a.value, b.field: b.value})
        return out

    @property
    def counted(self) -> list[str]:
        """The meters a usage counts (every one but the fees)."""
        return [t for t in self.types if t not in self.fees]

    @property
    def meter_units(self) -> dict[str, str]:
        """Meter -> the unit it counts, for the meters not counted in tokens (one unit per meter in a book)."""
        return {t: METERS[self.usage_keys[t]][1] for t in self.rate_units}

    def block(self, region: str) -> str:
        head = f"model {self.id}" + (f" {self.title}" if self.title else "") + " {"
        lines = [head]
        if self.aliases:
            lines.append("  alias " + ", ".join(self.aliases))
        if self.bounds:
            lines.append(f"  tier by {' + '.join(self.input_types)} tokens per request")
        rows = []
        edges = [0, *self.bounds]
        for i in range(len(edges)):
            rates = "   ".join(self._rate(t, self.cells[t][i]) for t in self.types)
            if not self.bounds:
                rows.append(rates)
            else:
                tier = f"{edges[i]} < T <= {edges[i + 1]}" if i + 1 < len(edges) else f"{edges[i]} < T"
                rows.append(f"{tier}   {rates}")
        if len(rows) == 1 and not self.bounds:
            lines.append(f"  {region} {{ {rows[0]} }}")
        else:
            lines.append(f"  {region} {{")
            lines += [f"    {row}" for row in rows]
            lines.append("  }")
        for variant in (*self.variants, *self.window_prices):
            lines += variant.block(self, region)
        lines.append("}")
        return "\n".join(lines)

    def _rate(self, meter: str, changes: list[tuple[date | None, Decimal]]) -> str:
        cell = self._cell(changes)
        return f"{meter} {cell}" if cell == "not billed" else f"{meter} {cell}{self.rate_units.get(meter, '')}"

    @staticmethod
    def _cell(changes: list[tuple[date | None, Decimal]]) -> str:
        if len(changes) == 1 and changes[0][1] == 0:
            return "not billed"  # free on purpose, as the catalogue says (a bare 0 draws R027)
        parts = [number(changes[0][1])]
        parts += [f"{number(p)} from {d.isoformat()}T00:00Z" for d, p in changes[1:]]
        return ", ".join(parts)


def _periods(model) -> list[tuple[date | None, object]]:
    """The model's prices by date: (from, ModelPrice), the first from always. Its time-of-day prices are
    `_windows`' (the list's tail)."""
    from genai_prices.types import ModelPrice, StartDateConstraint, TimeOfDateConstraint

    if isinstance(model.prices, ModelPrice):
        return [(None, model.prices)]
    if not model.prices:
        raise Skip("no prices", "the catalogue lists no prices for it")
    periods: list[tuple[date | None, object]] = []
    for i, conditional in enumerate(model.prices):
        c = conditional.constraint
        if isinstance(c, TimeOfDateConstraint):
            if not periods:
                raise Skip("time-of-day price", f"a price applies only between {c.start_time} and {c.end_time} UTC "
                           "each day, and no price outside those hours comes before it")
            if any(not isinstance(later.constraint, TimeOfDateConstraint) for later in model.prices[i:]):
                raise Skip("time-of-day price", f"a dated price follows the one between {c.start_time} and "
                           f"{c.end_time} UTC each day, so the hours win only until that date")
            break
        if c is None:
            if i:
                raise Skip("unconditional price after a dated one",
                           f"price #{i + 1} has no constraint, so it hides the earlier ones from then on")
            periods.append((None, conditional.prices))
        elif isinstance(c, StartDateConstraint):
            if i and periods[-1][0] is not None and c.start_date <= periods[-1][0]:
                raise Skip("price dates out of order", f"price from {c.start_date} follows one from {periods[-1][0]}")
            periods.append((None if i == 0 else c.start_date, conditional.prices))
        else:
            raise Skip("unknown constraint", f"price #{i + 1} has a {type(c).__name__}, which the importer does not "
                       "know")
    return periods


@dataclass
class WindowSpec:
    """A daily time window of the catalogue (UTC), in minutes after midnight: the book's `window` statement."""

    start: int
    end: int

    @property
    def name(self) -> str:
        return f"utc-{_clock(self.start).replace(':', '')}-to-{_clock(self.end).replace(':', '')}"

    def statement(self) -> str:
        return f"window {self.name} = {_clock(self.start)} to {_clock(self.end)} in UTC"

    def minutes(self) -> set[int]:
        if self.start < self.end:
            return set(range(self.start, self.end))
        return set(range(self.start, 1440)) | set(range(self.end))


def _utc_time(moment: time) -> time:
    """A time of day in UTC, as calc_price reads it (a time without a zone is UTC's)."""
    if moment.tzinfo is None:
        return moment
    return datetime.combine(date(1970, 1, 1), moment).astimezone(UTC).time()


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _windows(model) -> list[tuple[WindowSpec, object]]:
    """The model's time-of-day prices: (window, ModelPrice), each on whole minutes, no two overlapping."""
    from genai_prices.types import ModelPrice, TimeOfDateConstraint

    if isinstance(model.prices, ModelPrice):
        return []
    found: list[tuple[WindowSpec, object]] = []
    for conditional in model.prices:
        c = conditional.constraint
        if not isinstance(c, TimeOfDateConstraint):
            continue
        edges = [_utc_time(t) for t in (c.start_time, c.end_time)]
        if any(t.second or t.microsecond for t in edges):
            raise Skip("time-of-day price", f"a price applies between {c.start_time} and {c.end_time} UTC each "
                       "day; a window starts and ends on a whole minute")
        window = WindowSpec(*(t.hour * 60 + t.minute for t in edges))
        if window.start == window.end:
            raise Skip("time-of-day price", f"a price applies from {c.start_time} to {c.end_time} UTC: calc_price "
                       "never applies it (no time is from it and before it)")
        clash = next((w for w, _ in found if w.minutes() & window.minutes()), None)
        if clash is not None:
            raise Skip("time-of-day price", f"its hours {window.name} and {clash.name} overlap (calc_price takes "
                       "the later one there); a model's windows may not")
        found.append((window, conditional.prices))
    return found


def _stand_in(key: str, priced: list[str], registry) -> str | None:
    """The priced key whose leaf holds the tokens of unpriced `key`, when exactly one does."""
    unit = registry.unit_for_price_key(key)
    units = [registry.unit_for_price_key(k) for k in priced if k in registry._all_price_keys]
    if any(u.dimensions.items() > unit.dimensions.items() for u in units):
        return None  # a more specific priced type would share its tokens
    ancestors = [u for u in units if u.dimensions.items() < unit.dimensions.items()]
    if not ancestors:
        return None
    ancestors.sort(key=lambda u: len(u.dimensions))
    if any(not (a.dimensions.items() <= b.dimensions.items()) for a, b in zip(ancestors, ancestors[1:])):
        return None  # two unrelated parents (a lattice): the tokens would count twice
    return ancestors[-1].price_key


def _priced(mp) -> dict[str, object]:
    return {k: v for k, v in mp.__dict__.items() if not k.startswith("_") and v is not None}


def _aliases(match, own: str) -> tuple[list[str], list[str]]:
    """The exact names `match` accepts, and notes on what it accepts that is not carried over."""
    names: list[str] = []
    notes: list[str] = []

    def walk(clause, top: bool) -> None:
        kind = type(clause).__name__
        if kind == "ClauseEquals":
            names.append(clause.equals)
        elif kind == "ClauseOr":
            for c in clause.or_:
                walk(c, top)
        elif kind == "ClauseStartsWith":
            notes.append(f"names starting with '{clause.starts_with}' are not carried over (prefix match)")
        elif kind == "ClauseEndsWith":
            notes.append(f"names ending with '{clause.ends_with}' are not carried over (suffix match)")
        elif kind == "ClauseContains":
            notes.append(f"names containing '{clause.contains}' are not carried over (substring match)")
        elif kind == "ClauseRegex":
            notes.append(f"names matching /{clause.regex}/ are not carried over (regex match)")
        else:
            notes.append(f"an `{kind}` match is not carried over")

    walk(match, True)
    seen, out = {own}, []
    for n in names:
        if n in seen:
            continue
        seen.add(n)
        out.append(n)
    if own.lower() not in {n.lower() for n in names} and not match.is_match(own.lower()):
        notes.append(f"the catalogue's own match does not accept the ID '{own}' itself")
    return out, notes


def model_spec(model, registry) -> ModelSpec:
    from genai_prices.types import TieredPrices

    if not is_name(model.id):
        raise Skip("ID is not a name", f"the model ID '{model.id}' is not a ratecard name")
    periods = _periods(model)
    keysets = [tuple(_priced(mp)) for _, mp in periods]
    allkeys: list[str] = []
    for ks in keysets:
        allkeys += [k for k in ks if k not in allkeys]
    free = not allkeys
    if free:  # the catalogue prices nothing: every request costs 0
        allkeys = ["input_mtok", "output_mtok"]
    scales = {k: _scale(k, registry) for k in allkeys}
    fill: dict[tuple[int, str], str | None] = {}  # (period, unpriced key) -> the priced key its tokens fall to
    fill_notes: list[str] = []
    for n, (when, mp) in enumerate(periods):
        here = _priced(mp)
        for k in allkeys:
            if k in here or free:
                continue
            stand_in = _stand_in(k, list(here), registry)
            if stand_in is None and registry.unit_for_price_key(k).usage_key in METERS:
                fill[n, k] = None  # no other rate counts it: calc_price charges nothing for it then
                fill_notes.append(f"{k} is unpriced in one of its dated periods: written at 0 there")
                continue
            if stand_in is None:
                raise Skip("rate priced only in some periods",
                           "the priced token types change between dated prices ("
                           + " -> ".join("{" + ", ".join(ks) + "}" for ks in keysets)
                           + f"), and the tokens of {k} where it is unpriced fall to no single other rate")
            fill[n, k] = stand_in
            until = periods[n + 1][0] if n + 1 < len(periods) else None
            span = (f"from {when}" if when else "") + (f" until {until}" if until else " on")
            span = span.replace(" until", "before", 1) if not when else span
            fill_notes.append(f"{k} is unpriced {span}: its tokens are priced as {stand_in} then, "
                              f"so it is written at the {stand_in} price for that period")
    units = [registry.unit_for_price_key(k) for k in allkeys]
    types = [METERS[u.usage_key][0] if u.usage_key in METERS else u.usage_key.removesuffix("_tokens") for u in units]
    usage_keys = {t: u.usage_key for t, u in zip(types, units)}
    rate_units = {t: scales[k][1] for k, t in zip(allkeys, types) if scales[k][1]}
    fees = [t for t, u in zip(types, units) if u.usage_key == "requests"]
    input_types = [t for t, u in zip(types, units)
                   if u.dimensions.get("direction") == "input" and u.usage_key not in METERS]  # tokens choose tiers
    input_types.sort(key=lambda t: (INPUT_ORDER.index(t) if t in INPUT_ORDER else len(INPUT_ORDER), types.index(t)))
    starts: set[tuple[int, ...]] = set()
    for _, mp in periods:
        for v in _priced(mp).values():
            if isinstance(v, TieredPrices):
                starts.add(tuple(t.start for t in v.tiers))
    if len(starts) > 1:
        raise Skip("tier thresholds differ", "its rates (or dated prices) use different tier thresholds: "
                   + "; ".join(str(list(s)) for s in sorted(starts)))
    bounds = list(next(iter(starts))) if starts else []
    if bounds and (bounds[0] <= 0 or len(set(bounds)) != len(bounds)):
        raise Skip("tier thresholds differ", f"tier thresholds {bounds} are not increasing from above 0")
    if bounds and not input_types:
        raise Skip("tiers without input", "tiered, but prices no input-side token type to choose the tier")
    rows = len(bounds) + 1
    cells: dict[str, list[list[tuple[date | None, Decimal]]]] = {t: [[] for _ in range(rows)] for t in types}
    for when, mp in periods:
        for k, t in zip(allkeys, types):
            period = next(n for n, p in enumerate(periods) if p[1] is mp)
            v = Decimal(0) if free or fill.get((period, k), k) is None else getattr(mp, fill.get((period, k), k))
            row_prices = [v.base, *(x.price for x in v.tiers)] if isinstance(v, TieredPrices) else [v] * rows
            for r, p in enumerate(scales[k][0](p) for p in row_prices):
                cell = cells[t][r]
                if not cell:
                    cell.append((None, p))
                elif cell[-1][1] != p:
                    cell.append((when, p))
    dates = sorted({d for t in types for row in cells[t] for d, _ in row if d is not None})
    title = quoted(model.name) if model.name and model.name != model.id else None
    aliases, notes = _aliases(model.match, model.id)
    notes[:0] = fill_notes
    if free:
        notes.insert(0, "the catalogue prices nothing (free): imported as input and output not billed; "
                        "other token types are not accepted")
    variants = _variants(model, dict(zip(allkeys, types)), scales, bounds)
    dates = sorted({*dates, *(d for v in variants for period in v.periods for d in period[:2] if d is not None)})
    windows = _windows(model)
    if windows and variants:
        raise Skip("time-of-day price", "it has both time-of-day prices and price variants; how calc_price stacks "
                   "them is not carried over")
    window_prices = []
    for window, prices in windows:
        here = _priced(prices)
        if set(here) != set(allkeys):
            raise Skip("time-of-day price", f"in its hours {window.name} it prices {', '.join(here) or 'nothing'}, "
                       f"outside them {', '.join(allkeys)}: a window gives its own price to each rate of the model")
        rows = _own_rows(here, dict(zip(allkeys, types)), scales, bounds, f"price in the hours {window.name}")
        window_prices.append(VariantSpec(WINDOW_FIELD, window.name, [(None, None, rows)]))
    return ModelSpec(model.id, title, aliases, types, input_types, bounds, dates, cells, notes, usage_keys, rate_units,
                     fees, variants, windows=[w for w, _ in windows], window_prices=window_prices)


def _variants(model, meters: dict[str, str], scales: dict, bounds: list[int]) -> list[VariantSpec]:
    """The model's price variants, one per value, period by period as calc_price resolves them."""
    from genai_prices.types import StartDateConstraint

    groups: dict[tuple[str, str], list] = {}  # (field, value) -> its entries, in list order
    for entry in model.price_variants or ():
        if len(entry.when) != 1:
            raise Skip("price variants", "a price variant selected by several request fields at once ("
                       + ", ".join(f"{k}={v}" for k, v in entry.when.items()) + ")")
        if entry.constraint is not None and not isinstance(entry.constraint, StartDateConstraint):
            raise Skip("time-of-day price", "a price variant applies only at some hours of the day each day; "
                       "hours of a variant are not carried over (the model's own hours are)")
        (field_name, value), = entry.when.items()
        if not is_name(field_name) or not is_name(value):
            raise Skip("price variants", f"the variant {field_name}={value} is not a ratecard name")
        groups.setdefault((field_name, value), []).append(entry)
    runs = [field_name for field_name, _ in itertools.groupby(
        f for entry in (model.price_variants or ()) for f in entry.when)]  # each field once per run in the list
    if len(runs) != len(set(runs)):
        raise Skip("variant order", "its price variants interleave their request fields, so which one prices a "
                   "combination of them would depend on the date")
    specs = []
    for (field_name, value), entries in groups.items():
        starts = sorted({e.constraint.start_date for e in entries if e.constraint is not None})
        edges = ([None] if any(e.constraint is None for e in entries) else []) + starts
        periods = []
        for n, start in enumerate(edges):
            end = edges[n + 1] if n + 1 < len(edges) else None
            prices: dict[str, object] = {}
            for entry in entries:
                if entry.constraint is None or (start is not None and entry.constraint.start_date <= start):
                    for key, price in _priced(entry.prices).items():
                        prices.setdefault(key, price)
            if not prices:
                continue
            periods.append((start, end, _own_rows(prices, meters, scales, bounds, f"{field_name}={value} variant")))
        specs.append(VariantSpec(field_name, value, periods))
    return specs


def _own_rows(prices: dict[str, object], meters: dict[str, str], scales: dict, bounds: list[int],
              what: str) -> dict[str, list[Decimal]]:
    """A variant's (or window's) own prices: meter -> its price in each tier row of the model."""
    from genai_prices.types import TieredPrices

    rows: dict[str, list[Decimal]] = {}
    for key, price in prices.items():
        if key not in meters:
            raise Skip("price variants", f"its {what} prices {key}, which the model itself does not price")
        if isinstance(price, TieredPrices):
            if [t.start for t in price.tiers] != bounds:
                raise Skip("tier thresholds differ", f"its {what} is tiered at {[t.start for t in price.tiers]}, "
                           f"the model at {bounds}")
            row_prices = [price.base, *(t.price for t in price.tiers)]
        else:
            row_prices = [price]
        rows[meters[key]] = [scales[key][0](p) for p in row_prices]
    if len({len(r) for r in rows.values()}) > 1:  # some rates tiered, some flat: write every one per tier
        rows = {t: r * (len(bounds) + 1) if len(r) == 1 else r for t, r in rows.items()}
    return rows


def _variant_fields(specs: list, entries: dict, provider: str) -> tuple[list[tuple[str, list[str]]], list]:
    """The book's `variant FIELD = value, ...` statements, and its `exclusive` pairs of fields.

    calc_price takes a price from the first matching entry of a model's list; the book, from the first field.
    Where two models list two fields in opposite orders, no order of the book can say both: the book makes
    those fields exclusive (a request naming both is refused, never priced by the wrong one). A model naming
    a value another field has is reported."""
    order: list[str] = []
    exclusive: list[tuple[str, str]] = []
    values: dict[str, str] = {}  # value -> field
    for i, spec in list(specs):
        clash = next((v for v in spec.variants if values.get(v.value, v.field) != v.field), None)
        if clash is not None:
            specs.remove((i, spec))
            entries[i] = Entry(provider, spec.id, False, f"its variant {clash.field}={clash.value} names a value "
                               f"of {values[clash.value]} already: one book cannot say both", "variant order")
            continue
        fields = list(dict.fromkeys(v.field for v in spec.variants))
        order += [f for f in fields if f not in order]
        for a, b in zip(fields, fields[1:]):
            if order.index(a) > order.index(b) and (b, a) not in exclusive:
                exclusive.append((b, a))
                spec.notes.append(f"it lists {a} before {b}, an earlier model the other way: the book makes "
                                  "them exclusive (a request naming both is refused)")
        values.update((v.value, v.field) for v in spec.variants)
    return [(field_name, [v for v, f in values.items() if f == field_name]) for field_name in order], exclusive


def _scale(key: str, registry) -> tuple:
    """How a price of the catalogue's `key` is written: (price -> the price as written, ` per 1K searches`;
    "" for tokens per 1M, the book's unit). Raises Skip for a unit the language cannot price exactly."""
    try:
        unit = registry.unit_for_price_key(key)
    except KeyError:
        raise Skip("non-token unit", f"prices {key}, a unit genai-prices does not register") from None
    if unit.dimensions.get("family") == "tokens" and unit.usage_key not in METERS:
        if unit.per != 1_000_000:
            raise Skip("non-token unit", f"prices {key} per {unit.per:,} tokens; the book prices per 1M")
        return (lambda price: price), ""
    if unit.usage_key not in METERS:
        raise Skip("non-token unit", f"prices {key}, a unit the language has no counterpart for")
    word = METERS[unit.usage_key][1]
    if unit.per in _PRICING:
        size = _PRICING[unit.per]
        return (lambda price: price), f" per {size}{word}" if size else f" per {BY_WORD[word].singular}"
    return (lambda price: _per_one(price, unit.per, key)), f" per {BY_WORD[word].singular}"


def _per_one(price: Decimal, per: int, key: str) -> Decimal:
    """`price` per `per` units as the exact price of one (per hour -> per second), or Skip when it is not exact."""
    with localcontext() as context:
        context.prec = 60
        one = price / per
    if one * per != price or len(one.as_tuple().digits) > 28:
        raise Skip("price not exact per unit", f"prices {key} at {number(price)} per {per:,} units: {number(price)}/"
                   f"{per:,} per unit is no exact decimal, and calc_price rounds each amount to 28 digits where "
                   "ratecard never rounds a price")
    return one.normalize()


def _header(provider, version: str, region: str) -> str:
    name = make_name(provider.id)
    display = quoted(f"{provider.name} API") or '"API"'
    title = quoted(f"{provider.name} prices, imported from genai-prices {version}") or '"Imported from genai-prices"'
    url = f", {provider.pricing_urls[0]}" if getattr(provider, "pricing_urls", None) else ""
    source = quoted(f"genai-prices {version} catalogue, provider {provider.id}{url}") or '"genai-prices"'
    return (f"# Imported from the genai-prices {version} catalogue (provider {provider.id}) by `ratecard import`.\n"
            "# Token types are disjoint: `input` counts the prompt tokens no other priced type of the model counts\n"
            "# (cached tokens of a model without a cache price stay in `input`). Regenerate rather than edit.\n\n"
            f"region {region} {display}\n\n"
            f"book {name} {title} {{\n"
            f"  source {source}\n  currency USD\n  price per 1M tokens\n  cycle hourly in UTC\n  round 6 half-up\n")


def _one_unit_per_meter(specs: list, entries: dict, provider: str) -> None:
    """A meter counts one unit in a book (its usage column is book-wide): a model that would count one in
    another unit than an earlier model of the book is reported, never renamed silently."""
    units: dict[str, tuple[str, str]] = {}  # meter -> (unit, the model that set it)
    for i, spec in list(specs):
        counts = {meter: spec.meter_units.get(meter, "tokens") for meter in spec.types}
        clash = [(m, u, units[m]) for m, u in counts.items() if m in units and units[m][0] != u]
        if clash:
            meter, unit, (other, model) = clash[0]
            specs.remove((i, spec))
            entries[i] = Entry(provider, spec.id, False, f"counts '{meter}' in {unit}, where {model} counts it in "
                               f"{other}: a meter counts one unit in a book", "meter in two units")
            continue
        for meter, unit in counts.items():
            units.setdefault(meter, (unit, spec.id))


def _book_text(header: str, blocks: list[str]) -> str:
    from ..fmt import format_text

    body = "\n\n".join("\n".join("  " + line for line in b.splitlines()) for b in blocks)
    return format_text(header + ("\n" + body + "\n" if body else "") + "}\n")






def import_catalogue(providers: list[str] | None = None, verify: int = 1) -> tuple[list[ProviderBook], Report]:
    """Books for the catalogue's providers (all, or those named), and the report of every entry.

    With `verify`, each model is quoted on a few usages (tier edges, both sides of each price
    change) and compared with `genai_prices.calc_price`; a model that disagrees is reported."""
    from .. import loads
    from ..errors import RatecardError

    version, catalogue_providers, registry = catalogue()
    known = {p.id: p for p in catalogue_providers}
    if providers:
        unknown = [p for p in providers if p not in known]
        if unknown:
            raise UnknownProvider(f"the genai-prices catalogue has no provider {', '.join(map(repr, unknown))}",
                                  "providers: " + ", ".join(sorted(known)))
        chosen = [known[p] for p in dict.fromkeys(providers)]
    else:
        chosen = list(catalogue_providers)
    report = Report(source=f"genai-prices {version}")
    books: list[ProviderBook] = []
    region = "api"
    for provider in chosen:
        header = _header(provider, version, region)
        entries: dict[int, Entry] = {}
        specs: list[tuple[int, ModelSpec]] = []
        ids: set[str] = set()
        for i, model in enumerate(provider.models):
            try:
                spec = model_spec(model, registry)
                if spec.id in ids:
                    raise Skip("duplicate ID", f"an earlier entry of {provider.id} has the ID '{spec.id}'")
                ids.add(spec.id)
            except Skip as skip:
                entries[i] = Entry(provider.id, model.id, False, skip.reason, skip.category)
                continue
            specs.append((i, spec))
        _one_unit_per_meter(specs, entries, provider.id)
        fields, exclusive = _variant_fields(specs, entries, provider.id)
        for _, spec in specs:
            spec.exclusive = exclusive
        declarations = "".join(f"  variant {field_name} = {', '.join(values)}\n" for field_name, values in fields)
        declarations += "".join(f"  exclusive {a}, {b}\n" for a, b in exclusive)
        windows = {w.name: w for _, spec in specs for w in spec.windows}
        declarations += "".join(f"  {windows[name].statement()}\n" for name in sorted(windows))
        header_with = header + declarations
        # aliases: valid names, never another model's ID, never twice in the book
        used = {spec.id for _, spec in specs}
        for i, spec in specs:
            kept = []
            for alias in spec.aliases:
                if not is_name(alias):
                    spec.notes.append(f"alias '{alias}' is not a ratecard name: not carried over")
                elif alias in used:
                    spec.notes.append(f"alias '{alias}' already names another model of the book: not carried over")
                else:
                    used.add(alias)
                    kept.append(alias)
            spec.aliases = kept
        # the book must load; when it does not, each model is loaded on its own and one that does not
        # load is reported with the engine's diagnostic
        good: list[tuple[int, ModelSpec]] = list(specs)
        text = _book_text(header_with, [s.block(region) for _, s in good])
        try:
            book = loads(text) if good else None
        except RatecardError:
            good = []
            for i, spec in specs:
                try:
                    loads(_book_text(header_with, [spec.block(region)]))
                except RatecardError as error:
                    entries[i] = Entry(provider.id, spec.id, False,
                                       "ratecard rejects the book: " + first_error(error), "rejected by ratecard")
                    continue
                good.append((i, spec))
            text = _book_text(header_with, [s.block(region) for _, s in good])
            book = loads(text) if good else None
        if verify and good:
            kept_good = []
            for i, spec in good:
                bad = first_disagreement(book, provider, spec, random.Random(f"{provider.id}/{spec.id}"), verify)
                if bad:
                    entries[i] = Entry(provider.id, spec.id, False, bad, "disagrees with calc_price")
                else:
                    kept_good.append((i, spec))
            if len(kept_good) != len(good):
                good = kept_good
                text = _book_text(header_with, [s.block(region) for _, s in good])
                book = loads(text) if good else None
        for i, spec in good:
            entries[i] = Entry(provider.id, spec.id, True, notes=list(spec.notes))
        report.entries += [entries[i] for i in sorted(entries)]
        if good:
            file = make_name(provider.id) + ".rules"
            report.books[provider.id] = file
            books.append(ProviderBook(provider.id, file, text, [s for _, s in good], book))
    return books, report


# --- the proof: ratecard's quote against calc_price ---------------------------------------------------

def usages(spec: ModelSpec, rng: random.Random, extra: int = 1) -> list[tuple[dict[str, int], datetime]]:
    """Usages that exercise a model: zero counts, each tier edge exactly and +-1, both sides of each
    price change, and `extra` random ones per period."""
    moments = [datetime(2026, 6, 1, 12, tzinfo=UTC)]
    for d in spec.dates:
        midnight = datetime(d.year, d.month, d.day, tzinfo=UTC)
        moments += [midnight - timedelta(seconds=1), midnight, midnight + timedelta(hours=13)]
    if spec.dates:
        moments.append(datetime(spec.dates[0].year, 1, 1, tzinfo=UTC) - timedelta(days=400))
    for window in spec.windows:  # each edge of its hours, on a plain day and on each day a price changes
        for day in (date(2026, 6, 1), *spec.dates):
            midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
            for minute in (window.start, window.end):
                edge = midnight + timedelta(minutes=minute)
                moments += [edge - timedelta(microseconds=1), edge]
    top = (spec.bounds[-1] * 2 if spec.bounds else 2_000_000)
    totals = [0, 1]
    for b in spec.bounds:
        totals += [b - 1, b, b + 1]
    out = []
    for at in moments:
        out.append(({t: 0 for t in spec.counted}, at))
        for total in totals + [rng.randint(0, top) for _ in range(extra)]:
            out.append((_split(spec, total, rng), at))
    return out


def _split(spec: ModelSpec, total: int, rng: random.Random) -> dict[str, int]:
    tokens = {t: 0 for t in spec.counted}
    ins = spec.input_types or []
    left = total
    for t in ins[1:]:
        n = rng.randint(0, left) if rng.random() < 0.7 else 0
        tokens[t] = n
        left -= n
    if ins:
        tokens[ins[0]] = left
    for t in spec.counted:
        if t not in ins:
            tokens[t] = rng.choice([0, 1, rng.randint(0, 100_000)])
    return tokens


def catalogue_usage(spec: ModelSpec, tokens: dict[str, int]):
    """The genai-prices `Usage` whose priced leaf counts are `tokens`: each priced count is the sum
    of the leaves it contains."""
    from genai_prices import Usage
    from genai_prices.decompose import is_descendant_or_self
    from genai_prices.units import _get_registry

    units = _get_registry().units
    priced = {t: units[spec.usage_keys[t]] for t in spec.counted}  # a fee: calc_price counts one request itself
    raw = {}
    for t, unit in priced.items():
        raw[unit.usage_key] = sum(tokens[s] for s, other in priced.items() if is_descendant_or_self(unit, other))
    if "input_tokens" not in raw:  # the whole prompt, for the tier: the sum of the input-side leaves
        raw["input_tokens"] = sum(tokens[t] for t in spec.input_types)
    return Usage(**raw)


def cases(spec: ModelSpec, rng: random.Random, extra: int = 1) -> list[tuple[dict[str, int], datetime, dict]]:
    """The proof's requests of a model: each of its `usages` in each of its variant `contexts`."""
    found = usages(spec, rng, extra)
    return [(tokens, at, context) for context in spec.contexts() for tokens, at in found]


def calc_total(provider, spec: ModelSpec, tokens: dict[str, int], at: datetime, context: dict | None = None) -> Decimal:
    import genai_prices

    model = next(m for m in provider.models if m.id == spec.id)
    usage = catalogue_usage(spec, tokens)
    try:
        result = genai_prices.calc_price(usage, spec.id, provider_id=provider.id, genai_request_timestamp=at,
                                         price_context=context or None)
    except LookupError:  # the catalogue's match does not accept the entry's own ID
        result = None
    if result is None or result.model is not model:  # the ID resolves to another entry: price this one directly
        result = model.calc_price(usage, provider, genai_request_timestamp=at, price_context=context or None)
    return result.total_price


def ratecard_total(book, spec: ModelSpec, tokens: dict[str, int], at: datetime, context: dict) -> Decimal:
    return book.quote(region="api", model=spec.id, tokens=tokens, requests=1, at=at,
                      variants=tuple(context.values())).total


def first_disagreement(book, provider, spec: ModelSpec, rng: random.Random, extra: int = 1) -> str | None:
    from ..errors import RatecardError

    for tokens, at, context in cases(spec, rng, extra):
        expected = calc_total(provider, spec, tokens, at, context)
        where = f"{tokens} at {at.isoformat()}" + (f" with {context}" if context else "")
        try:
            got = ratecard_total(book, spec, tokens, at, context)
        except RatecardError as error:
            return f"ratecard cannot quote {where}: {error}"
        if got != expected:
            return f"{where}: ratecard {got}, calc_price {expected}"
    return None
