"""Price books to SQL: the rating query.

Takes a compiled `PriceBook`, a currency and the shape of the usage (its token
columns, and the zone for timestamps without an offset) and gives a
`RatingQuery`: SQL text in DuckDB's dialect, in three stages that other
engines run as they are or through `sqlglot` (`dialects.py`):

- `rated`: one row per usage record, read from a relation `ratecard_usage` whose
  fields are text (the documented usage schema), validated and placed as
  `rating.Rater` does it, in the same order of checks: the code of the first
  fault (`E201`, `E204`, `E101`, ...) or its cycle, offer, tier and tokens;
  a repeated `request_id` among the records that can be billed is `E207`;
- `lines`: the bill lines over `rated`: usage per cycle, account, offer, tier
  and token type, the free trial, and the free quota (each account's earliest
  free tokens in billing order, by window functions), with exact `DECIMAL`
  amounts in the order `billing.py` gives them;
- `rejects`: the records that cannot be billed, with their code.

The book's rates travel with the query as inline tables (`VALUES`), so the
text is all a warehouse needs. Money is `DECIMAL(38, s)` from the rate to
the line, where `s` is the largest number of decimals of a per-token price;
token quantities are `DECIMAL(38, 0)`. Calendar arithmetic (timestamps to
instants, a month from first use) is integer arithmetic on microseconds, so
every dialect computes it alike. A book this SQL cannot bill exactly is a
`SqlUnsupported` error naming what, never a different bill.

Two lookups may be given by the engine that runs the query: `region_names`
(each distinct region text of the usage resolved by `tables.resolve_region`)
and `odd_timestamps` (each timestamp text outside the shapes the SQL parses
itself, parsed by `records.parse_timestamp`). Without them, the query
carries the book's names (matched as written or in lower case) and rejects
other timestamp shapes as `E202`.

This is a data module of the SQL side: it imports no engine and no later stage.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal

import attrs

from ..errors import RatecardError
from ..limits import LATEST, MAX_COUNT_DIGITS, MAX_REQUESTS
from ..locations import location
from ..moments import MINUTE_US, WINDOW_FIELD, instant_of
from ..rating import CYCLE_SECONDS
from ..records import REQUIRED_TOKENS, UsageMeters
from ..tables import NO_PRICES, Offer, PriceBook, Tier, variant_key

frozen = attrs.frozen(slots=True)

#: Characters Python's `str.strip()` removes: the SQL trims the same ones (`tests/test_sql.py` checks the list).
WHITESPACE = (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
              0x2028, 0x2029, 0x202F, 0x205F, 0x3000)
MAX_SCALE = 18  # decimals of a per-token price in DECIMAL(38, s): 20 digits are left for an amount
QUANTITY = "DECIMAL(38, 0)"
_US = 1_000_000
_LINES = 10**12  # more lines than any usage file has: file_index * _LINES + line orders records as read
_DAY_US = 86_400 * _US
#: The timestamp shapes the SQL parses itself; others go to `odd_timestamps`.
TIMESTAMP_SHAPE = ("^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,6})?"
                   "(Z|[+-][0-9]{2}:[0-9]{2})?$")
#: The usage relation's text fields besides the token columns, in the order every engine lists them.
USAGE_FIELDS = ("timestamp", "account", "region", "model", "requests", "request_id")
#: What each code of a record the SQL rejects means, for the printed query's rejects (the engines give the
#: Python engine's own reason for each record instead).
REASONS = {
    "E201": "a required field (timestamp, account, region, model) is empty",
    "E202": "the timestamp is not ISO 8601 (YYYY-MM-DDTHH:MM:SS[.ffffff][Z|+HH:MM]) or is out of range",
    "E203": "the timestamp has no UTC offset",
    "E204": "a token count or requests is not a whole number in range",
    "E101": "unknown region",
    "E102": "unknown model",
    "E103": "the model is not offered in the region",
    "E104": "the request is beyond the highest tier",
    "E105": "no price in the bill's currency for a token type of the record",
    "E107": "the model does not price a token type of the record",
    "E108": "no rates in force at the timestamp",
    "E110": "the model has no prices in the record's variant there",
    "E207": "the request_id was billed already",
}
#: The order of a bill's lines (`billing.py`'s): by account, cycle, region, model and tier, token type, kind.
LINE_ORDER = "account, cycle, tier_rank, position, kind_order"
#: Kinds of line, in the order a bill lists them for one token type.
KINDS = ("usage", "quota", "trial")


class SqlUnsupported(RatecardError):
    """A price book (or usage) that the SQL engines cannot bill exactly."""

    code = "E400"


@frozen
class TokenColumn:
    """One meter of the usage (a `<type>_tokens` column, a `<meter>_<unit>` one, or a fee), as the query names it."""

    token_type: str
    column: str  # tok_0, tok_1, ...: the usage relation's name for it (any header text is safe)
    required: bool  # input and output: an empty value is an error, not an absent type
    usage_name: str = ""  # the usage field: `input_tokens`, `web_search_searches`; "" for a fee
    fee: bool = False  # counted per request, never read: every record counts 1 of it per request


@frozen
class RatingQuery:
    """The SQL of one book, currency and usage shape, and what its ids stand for.

    `rated`, `lines` and `rejects` are standalone queries (over the relations
    `ratecard_usage` and `rated`), for an engine that materializes `rated` once;
    `script()` is the same as one text for a warehouse.
    """

    book_tables: str  # the book's rates as inline tables: CTEs shared by every stage
    rated_ctes: str
    rated_select: str
    lines_ctes: str
    lines_select: str
    rejects_select: str
    columns: tuple[TokenColumn, ...]
    offers: tuple[Offer, ...]  # offer_id -> offer
    tiers: tuple[Tier, ...]  # tier_id -> tier
    scale: int  # decimals of every amount
    odd_timestamps_sql: str  # the distinct timestamp texts of `usage` the SQL does not parse itself
    region_texts_sql: str  # the distinct region texts of `usage`, as they are matched
    sources_table: str  # `rate_sources`: per tier and token type, where the book writes the rate (`script` only)
    source_of_line: str  # a line's `rate_source` from `l` and `rs`: its rate's, or the quota or trial statement
    variant_fields: tuple[str, ...] = ()  # the book's variant fields: text columns of the usage, as named

    @property
    def read_columns(self) -> tuple[TokenColumn, ...]:
        """The columns the usage has: every one but the fees."""
        return tuple(c for c in self.columns if not c.fee)

    @property
    def rated(self) -> str:
        return f"WITH {self.book_tables},\n{self.rated_ctes}\n{self.rated_select}"

    @property
    def lines(self) -> str:
        return f"WITH {self.book_tables},\n{self.lines_ctes}\n{self.lines_select}"

    @property
    def rejects(self) -> str:
        return self.rejects_select

    def script(self, rejects: bool = False, table: str | None = None) -> str:
        """One query: the bill lines (or, with `rejects`, the rejected records with their codes).

        It reads `table`, a table or view with the documented usage columns
        (`timestamp`, `account`, `region`, `model`, `input_tokens`, ...), or
        without it the relation `ratecard_usage` that ratecard's readers make.
        """
        usage = "" if table is None else self.usage_view(table) + ",\n"
        head = f"WITH {usage}{self.book_tables},\n{self.rated_ctes},\nrated AS (\n{self.rated_select})"
        if rejects:
            return f"{head}\n{self.rejects_select}"
        return (f"{head},\n{self.lines_ctes},\n{self.sources_table},\nbook_lines AS (\n{self.lines_select})\n"
                f"SELECT l.*, {self.source_of_line} AS rate_source\nFROM book_lines AS l\n"
                "LEFT JOIN rate_sources AS rs ON rs.tier_id = l.tier_id AND rs.token_type = l.token_type\n"
                f"ORDER BY {LINE_ORDER}")

    def usage_view(self, table: str) -> str:
        """`ratecard_usage` over a warehouse table of usage columns: every field as text. Records are numbered
        by timestamp and request_id (a table has no order of lines), so of a repeated request_id the earliest
        is billed."""
        fields = ", ".join(f'CAST("{name}" AS VARCHAR) AS "{name}"' for name in self.usage_fields)
        tokens = ", ".join(f'CAST("{c.usage_name}" AS VARCHAR) AS {c.column}' for c in self.read_columns)
        shown = " || ',' || ".join(f"coalesce(CAST(\"{n}\" AS VARCHAR), '')" for n in
                                  [*self.usage_fields, *(c.usage_name for c in self.read_columns)])
        return (f"ratecard_usage AS (SELECT 0 AS file_index, {literal(table)} AS source, "
                f'row_number() OVER (ORDER BY CAST("timestamp" AS VARCHAR), CAST(request_id AS VARCHAR)) AS line, '
                f"{shown} AS record, CAST(NULL AS VARCHAR) AS pre_code, CAST(NULL AS VARCHAR) AS pre_reason, "
                f"{fields}, {tokens} FROM {table})")

    @property
    def usage_fields(self) -> tuple[str, ...]:
        """The usage's text fields: the record's own, then the book's variant fields."""
        return (*USAGE_FIELDS, *self.variant_fields)


def ws() -> str:
    """The whitespace characters as one SQL string literal (written as they are: `chr()` is ASCII-only in Spark)."""
    return literal("".join(map(chr, WHITESPACE)))


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _key(values: list[str]) -> str:
    """A variant's text from its values (NULL: none), `+` between them (`tables.variant_key`)."""
    return f"concat_ws('+', {', '.join(values)})" if values else "''"


def _trim(expression: str) -> str:
    """`expression.strip()`. Trimming a set of characters is slow (in DuckDB, ten times a plain trim), and
    nearly every value starts and ends with a character outside it: only those that do not are trimmed."""
    return (f"CASE WHEN strpos({ws()}, left({expression}, 1)) > 0 OR strpos({ws()}, right({expression}, 1)) > 0 "
            f"THEN trim({expression}, {ws()}) ELSE {expression} END")


def compile_query(book: PriceBook, currency: str, token_types: tuple[str, ...] | None = None,
                  assume_offset: int | None = None, region_names: str | None = None,
                  odd_timestamps: str | None = None) -> RatingQuery:
    """The rating query for usage with these token columns (default: input, output and the book's others).

    `assume_offset` (seconds east of UTC) is the zone of timestamps without
    an offset, as `--assume-tz` gives it; None rejects them (`E203`).
    `region_names` and `odd_timestamps` name relations the engine provides
    (see the module docstring); None inlines the book's own.
    """
    return _Builder(book, currency, token_types, assume_offset, region_names, odd_timestamps).query()


def offset_seconds(zone: tzinfo | None) -> int | None:
    """A fixed zone's offset east of UTC in seconds (for `compile_query`'s `assume_offset`)."""
    if zone is None:
        return None
    offset = zone.utcoffset(None)
    if offset is None:
        raise SqlUnsupported(f"the zone {zone} has no fixed offset", "pass a fixed offset such as UTC+8")
    return int(offset.total_seconds())


def default_token_types(book: PriceBook) -> tuple[str, ...]:
    return ("input", "output", *sorted(book.token_types - {"input", "output"}))


class _Builder:
    def __init__(self, book: PriceBook, currency: str, token_types, assume_offset, region_names, odd_timestamps):
        if currency not in book.currencies:
            raise SqlUnsupported(f"{book.name} has no prices in {currency!r}", "it prices in "
                                 + ", ".join(book.currencies))
        self.book = book
        self.currency = currency
        meters = UsageMeters.of(book)
        fees = sorted(m for m, unit in book.units.items() if unit.per_request)
        types = default_token_types(book) if token_types is None else tuple(token_types)
        types = (*types, *(fee for fee in fees if fee not in types))  # tok_i is the i-th type: the readers' order
        self.columns = tuple(TokenColumn(t, f"tok_{i}", t in fees or meters.column(t) in REQUIRED_TOKENS,
                                         "" if t in fees else meters.column(t), t in fees)
                             for i, t in enumerate(types))
        self.assume_offset = assume_offset
        self.region_names = region_names
        self.odd_timestamps = odd_timestamps
        every = [o for base in book.offers.values() for o in (base, *base.variants.values())]
        self.offers = tuple(sorted(every, key=lambda o: (o.region.id, o.model, o.variant)))
        self.tiers: list[Tier] = []
        self.tier_ids: dict[int, int] = {}  # id(tier) -> tier_id
        self.tier_rows: list[str] = []
        self.table_rows: list[str] = []
        self.scale = self._scale()
        self.zone_us = int(book.zone.utcoffset(None).total_seconds()) * _US

    # -- the rates as inline tables -------------------------------------------------------------

    def _scale(self) -> int:
        """Decimals of every amount: the most any per-token price has, at most MAX_SCALE."""
        scale = max((max(0, -price.per_token.as_tuple().exponent) for tier in self._all_tiers()
                     for price in tier.prices.get(self.currency, NO_PRICES).values()), default=0)
        if scale > MAX_SCALE:
            raise SqlUnsupported(
                f"{self.book.name} has a {self.currency} price of {scale} decimals per token; SQL bills prices of "
                f"at most {MAX_SCALE} decimals per token exactly (DECIMAL(38, {MAX_SCALE}) keeps 20 digits for the "
                "amount)", "bill this book with the Python engine (--engine python)")
        return scale

    def _all_tiers(self):
        for offer in self.offers:
            for table in offer.tables:
                yield from table.tiers

    def _inline_tables(self) -> None:
        book = self.book
        order = sorted({id(t): t for t in self._all_tiers()}.values(),
                       key=lambda t: (t.span.path, t.span.line, t.span.column, t.index))
        for tier in order:
            self.tier_ids[id(tier)] = len(self.tiers)
            self.tiers.append(tier)
        table_id = 0
        for offer_id, offer in enumerate(self.offers):
            for table in (offer.tables if offer.dated else offer.tables[:1]):
                start = None if not offer.dated else _latest(book.start, table.start)
                end = None if not offer.dated else _earliest(book.end, table.end)
                self.table_rows.append(f"({table_id}, {offer_id}, {_us(start)}, {_us(end)})")
                previous = None
                for tier in table.tiers:
                    self.tier_rows.append(
                        f"({table_id}, {self.tier_ids[id(tier)]}, {_int(previous)}, {_int(tier.upper)})")
                    previous = tier.upper
                table_id += 1

    def _values(self, name: str, columns: str, rows: list[str], empty: str) -> str:
        if not rows:
            return f"{name} AS (SELECT {empty} WHERE 1 = 0)"
        return f"{name} AS (SELECT * FROM (VALUES {', '.join(rows)}) AS v({columns}))"

    def _offers_table(self) -> str:
        """Each offer: its variant's text, and that text without its time window (`base_variant`) and the window."""
        rows = []
        for i, o in enumerate(self.offers):
            window = next((name for name in o.variant if self.book.variants[name].field == WINDOW_FIELD), "")
            base = variant_key(tuple(name for name in o.variant if name != window))
            rows.append(f"({i}, {literal(o.model)}, {literal(o.region.id)}, {literal(variant_key(o.variant))}, "
                        f"{literal(base)}, {literal(window)})")
        return self._values("offers", "offer_id, model, region_id, variant, base_variant, time_window", rows,
                            "0 AS offer_id, '' AS model, '' AS region_id, '' AS variant, '' AS base_variant, "
                            "'' AS time_window")

    def _models_table(self) -> str:
        """Each name a record may give a model (its ID, or an alias, exactly as written) and the model's ID."""
        names = {**{model: model for model in self.book.models}, **self.book.aliases}
        rows = [f"({literal(text)}, {literal(model)})" for text, model in sorted(names.items())]
        return self._values("models", "text, model", rows, "'' AS text, '' AS model")

    def _names_table(self) -> str:
        if self.region_names is not None:
            return f"names AS (SELECT text, region_id FROM {self.region_names})"
        rows = [f"({literal(k)}, {literal(v)})" for k, v in sorted(self.book.place_lookup.items())]
        return self._values("names", "text, region_id", rows, "'' AS text, '' AS region_id")

    def _odd_table(self) -> str:
        if self.odd_timestamps is not None:
            return f"odd AS (SELECT text, instant, code FROM {self.odd_timestamps})"
        return ("odd AS (SELECT CAST(NULL AS VARCHAR) AS text, CAST(NULL AS BIGINT) AS instant, "
                "CAST(NULL AS VARCHAR) AS code WHERE 1 = 0)")

    def _tier_columns_table(self) -> str:
        """Per tier and token column: what the tier does with it, its place in the line order and its price."""
        rows = []
        for tier_id, tier in enumerate(self.tiers):
            prices = tier.prices.get(self.currency, NO_PRICES)
            for index, column in enumerate(self.columns):
                kind = _category(tier, prices, column.token_type)
                if kind == "foreign":
                    continue
                price = prices.get(column.token_type)
                position = tier.token_types.index(column.token_type)
                per_token = (f"CAST(NULL AS DECIMAL(38, {self.scale}))" if price is None
                             else self._decimal(price.per_token))
                per_unit = "CAST(NULL AS VARCHAR)" if price is None else literal(str(price.per_unit))
                rows.append(f"({tier_id}, {index}, {literal(column.token_type)}, {literal(kind)}, {position}, "
                            f"{per_token}, {per_unit})")
        return self._values("tier_columns", "tier_id, col, token_type, category, position, per_token, per_unit",
                            rows, "0 AS tier_id, 0 AS col, '' AS token_type, '' AS category, 0 AS position, "
                                  f"CAST(NULL AS DECIMAL(38, {self.scale})) AS per_token, '' AS per_unit")

    def _tier_flags(self) -> str:
        """Per tier: each token column's category as a column (`cat_0`, ...): one join gives a record all of them."""
        rows = []
        for tier_id, tier in enumerate(self.tiers):
            prices = tier.prices.get(self.currency, NO_PRICES)
            cats = ", ".join(literal(_category(tier, prices, c.token_type)) for c in self.columns)
            rows.append(f"({tier_id}, {cats})")
        names = ", ".join(f"cat_{i}" for i in range(len(self.columns)))
        return self._values("tier_flags", f"tier_id, {names}", rows, "0 AS tier_id")

    def _sources_table(self) -> str:
        """The printed query's `rate_sources`: the location (`rules/x.rules:28:26`) of each rate a line can have.
        The engines leave it out: their writers name it from the tier, as the Python engine's do."""
        rows = [f"({tier_id}, {literal(c.token_type)}, "
                f"{literal(location(tier.rate_span(c.token_type, self.currency)))})"
                for tier_id, tier in enumerate(self.tiers) for c in self.columns
                if c.token_type in tier.token_types]
        return self._values("rate_sources", "tier_id, token_type, rate_source", rows,
                            "0 AS tier_id, '' AS token_type, '' AS rate_source")

    def _source_of_line(self) -> str:
        credits = [(kind, statement) for kind, statement in (("quota", self.book.quota), ("trial", self.book.trial))
                   if statement is not None]
        if not credits:
            return "rs.rate_source"
        cases = " ".join(f"WHEN {literal(kind)} THEN {literal(location(statement.span))}"
                         for kind, statement in credits)
        return f"CASE l.kind {cases} ELSE rs.rate_source END"

    def _decimal(self, value: Decimal) -> str:
        return f"CAST({literal(format(value, 'f'))} AS DECIMAL(38, {self.scale}))"

    # -- stage 1: rated records ----------------------------------------------------------------

    def query(self) -> RatingQuery:
        self._inline_tables()
        book_tables = ",\n".join((
            self._offers_table(), self._models_table(), self._names_table(), self._odd_table(),
            self._values("rate_tables", "table_id, offer_id, start_us, end_us", self.table_rows,
                         "0 AS table_id, 0 AS offer_id, 0 AS start_us, 0 AS end_us"),
            self._values("tiers", "table_id, tier_id, after, upto", self.tier_rows,
                         "0 AS table_id, 0 AS tier_id, 0 AS after, 0 AS upto"),
            self._tier_flags(), self._tier_columns_table()))
        rated_ctes, rated_select = self._rated()
        lines_ctes, lines_select = self._lines()
        return RatingQuery(book_tables, rated_ctes, rated_select, lines_ctes, lines_select, self._rejects(),
                           self.columns, self.offers, tuple(self.tiers), self.scale, self._odd_texts(),
                           self._region_texts(), self._sources_table(), self._source_of_line(),
                           self.book.variant_fields)

    def _fields(self) -> str:
        tokens = ",\n    ".join(f"'1' AS raw_{i}, '1' AS s_{i}" if c.fee else
                                f"{c.column} AS raw_{i}, {_trim(c.column)} AS s_{i}"
                                for i, c in enumerate(self.columns))
        return f"""fields AS (
  SELECT file_index, source, line, record, pre_code, pre_reason,
    {_trim('account')} AS account, {_trim('region')} AS region, {_trim('model')} AS model,
    {_trim('"timestamp"')} AS ts, requests AS raw_requests, {_trim('requests')} AS s_requests,
    coalesce({_trim('request_id')}, '') AS request_id,{self._variant_values()}
    {tokens}
  FROM ratecard_usage)"""

    def _variant_values(self) -> str:
        """The record's variant fields, trimmed, empty as NULL: `vf_0`, `vf_1`, ... in the book's field order."""
        return "".join(f"\n    nullif({_trim(chr(34) + field + chr(34))}, '') AS vf_{i},"
                       for i, field in enumerate(self.book.variant_fields))

    def _variant_join(self, named: str) -> tuple[str, str]:
        """The join of a record's variant offer, and the expression of its being offered at all (`tables.
        variant_offer`): each value one of its field's, a window named only by a record in it, and the offer of
        its values with the model's time window that the record is in (one at most: `check` sees to it) where
        the model prices that, else of its values alone. The model's own offer says E102/E103; the variant's,
        E110."""
        fields = self.book.variant_fields
        if not fields:
            return (f"LEFT JOIN offers AS o ON o.model = mk.model AND o.region_id = {named} AND o.variant = ''",
                    "o.offer_id IS NOT NULL")
        plain = _key([f"c.vf_{i}" for i, field in enumerate(fields) if field != WINDOW_FIELD])
        def values_of(field: str) -> str:
            return ", ".join(literal(name) for name, variant in self.book.variants.items() if variant.field == field)
        valid = " AND ".join(f"(c.vf_{i} IS NULL OR {self._in_window(f'c.vf_{i}')})" if field == WINDOW_FIELD
                             else f"(c.vf_{i} IS NULL OR c.vf_{i} IN ({values_of(field)}))"
                             for i, field in enumerate(fields))
        on = f"ON {{0}}.model = mk.model AND {{0}}.region_id = {named}"
        timed_join = (f"\n  LEFT JOIN offers AS ow {on.format('ow')} AND ow.base_variant = {plain} "
                      f"AND ow.time_window <> '' AND {self._in_window('ow.time_window')}" if self.book.windows else "")
        chosen = f"coalesce(ow.variant, {plain})" if timed_join else plain
        return (f"LEFT JOIN offers AS ob {on.format('ob')} AND ob.variant = ''{timed_join}\n"
                f"  LEFT JOIN offers AS o {on.format('o')} AND {valid} AND o.variant = {chosen}",
                "ob.offer_id IS NOT NULL")

    def _in_window(self, name: str) -> str:
        """Whether the record's instant is in the time window named by `name` (`moments.ClockWindow.contains`);
        false for a name that is no window. `//` truncates where Python floors: alike from 1970 on, and an
        earlier instant is E202 before any window is looked at."""
        cases = []
        for variant in self.book.windows:
            clock = variant.window
            local = f"(((c.instant // {MINUTE_US} + {clock.shift}) % {clock.period} + {clock.period}) % {clock.period})"
            inside = (f"{local} >= {clock.start} AND {local} < {clock.end}" if clock.start < clock.end
                      else f"({local} >= {clock.start} OR {local} < {clock.end})")
            cases.append(f"WHEN {literal(variant.name)} THEN {inside}")
        return f"coalesce(CASE {name} {' '.join(cases)} END, false)" if cases else "false"

    def _odd_texts(self) -> str:
        return (f"WITH {self._fields()},\n{self._timestamp_parts()}\n"
                "SELECT DISTINCT ts AS text FROM parts WHERE pre_code IS NULL AND ts <> '' AND NOT fast")

    def _region_texts(self) -> str:
        return f"WITH {self._fields()}\nSELECT DISTINCT region AS text FROM fields WHERE pre_code IS NULL"

    @staticmethod
    def _timestamp_parts() -> str:
        """A timestamp's parts, and whether it is of a shape the SQL parses with every part in range (`fast`)."""
        offset = "regexp_extract(ts, '(Z|[+-][0-9]{2}:[0-9]{2})$', 1)"
        parts = ", ".join(f"TRY_CAST(substr(ts, {a}, {n}) AS BIGINT) AS ts_{name}" for name, a, n in
                          (("y", 1, 4), ("m", 6, 2), ("d", 9, 2), ("h", 12, 2), ("mi", 15, 2), ("s", 18, 2)))
        in_range = (f"ts_y >= 1 AND ts_m BETWEEN 1 AND 12 AND ts_d BETWEEN 1 AND {_days_in_month('ts_y', 'ts_m')} "
                    "AND ts_h <= 23 AND ts_mi <= 59 AND ts_s <= 59 "
                    "AND (ts_offset IN ('', 'Z') OR (ts_oh <= 23 AND ts_om <= 59))")
        return f"""split AS (
  SELECT *, regexp_matches(ts, {literal(TIMESTAMP_SHAPE)}) AS ts_shape, {parts},
    regexp_extract(ts, '[.]([0-9]+)', 1) AS ts_fraction, {offset} AS ts_offset,
    TRY_CAST(substr({offset}, 2, 2) AS BIGINT) AS ts_oh, TRY_CAST(substr({offset}, 5, 2) AS BIGINT) AS ts_om
  FROM fields),
parts AS (SELECT *, coalesce(ts_shape AND {in_range}, false) AS fast FROM split)"""

    def _timestamps(self) -> str:
        naive = "CAST(NULL AS BIGINT)" if self.assume_offset is None else str(self.assume_offset)
        sign = "CASE WHEN substr(ts_offset, 1, 1) = '-' THEN -1 ELSE 1 END"
        zone = (f"(CASE WHEN ts_offset = '' THEN {naive} WHEN ts_offset = 'Z' THEN 0 "
                f"ELSE {sign} * (ts_oh * 3600 + ts_om * 60) END)")
        local = (f"({_days_from_civil('ts_y', 'ts_m', 'ts_d')} * {_DAY_US} + ((ts_h * 60 + ts_mi) * 60 + ts_s) * {_US}"
                 f" + CASE WHEN ts_fraction = '' THEN 0 ELSE TRY_CAST(rpad(ts_fraction, 6, '0') AS BIGINT) END)")
        return f"""{self._timestamp_parts()},
zoned AS (SELECT *, CASE WHEN fast THEN {zone} END AS ts_zone FROM parts),
stamped AS (
  SELECT z.*,
    CASE WHEN ts IS NULL OR ts = '' THEN NULL
         WHEN fast THEN CASE WHEN ts_zone IS NULL THEN 'E203' END
         ELSE coalesce(odd.code, CASE WHEN odd.instant IS NULL THEN 'E202' END) END AS ts_code,
    CASE WHEN fast THEN {local} - ts_zone * {_US} ELSE odd.instant END AS instant
  FROM zoned AS z LEFT JOIN odd ON NOT z.fast AND odd.text = z.ts)"""

    def _counts(self) -> str:
        """Each count's value (computed once), then its fault, looked for only where the value is not plainly
        a count (the value is NULL, or the text starts with a minus)."""
        names = [*(f"s_{i}" for i in range(len(self.columns))), "s_requests"]
        values = ", ".join(f"{_count_value(name)} AS v{name[1:]}" for name in names)
        parts = []
        for i, column in enumerate(self.columns):
            present = "true" if column.required else f"(raw_{i} IS NOT NULL AND raw_{i} <> '')"
            parts.append(f"{present} AS present_{i}, {_checked(f's_{i}', f'raw_{i}', f'v_{i}')} AS err_{i}, "
                         f"v_{i} AS n_{i}")
        requests_error = (f"CASE WHEN raw_requests IS NULL OR raw_requests = '' THEN NULL "
                          f"ELSE coalesce({_checked('s_requests', 'raw_requests', 'v_requests')}, "
                          f"CASE WHEN v_requests = 0 THEN 'is 0' WHEN v_requests > {MAX_REQUESTS} THEN 'too many' END) END")
        requests = "CASE WHEN raw_requests IS NULL OR raw_requests = '' THEN 1 ELSE v_requests END"
        return f"""valued AS (SELECT *, {values} FROM stamped),
counted AS (
  SELECT *, {', '.join(parts)},
    {requests_error} AS requests_error, {requests} AS requests
  FROM valued)"""

    def _placed(self) -> str:
        selector = self._selector_count()
        cycle = CYCLE_SECONDS[self.book.cycle]
        zone_s = self.zone_us // _US
        local_s = f"(c.instant // {_US} + {zone_s})"
        cycle_start = f"({local_s} - (({local_s} % {cycle}) + {cycle}) % {cycle} - {zone_s})"
        names = ("LEFT JOIN names AS n ON n.text = c.region" if self.region_names is not None else
                 "LEFT JOIN names AS n1 ON n1.text = c.region LEFT JOIN names AS n2 ON n2.text = lower(c.region)")
        named = "n.region_id" if self.region_names is not None else "coalesce(n1.region_id, n2.region_id)"
        offer_join, offered = self._variant_join(named)
        return f"""placed AS (
  SELECT c.*, o.offer_id, o.region_id, o.model AS offer_model, o.variant AS offer_variant, {named} AS named_region,
    mk.model IS NOT NULL AS known_model, {offered} AS offered, rt.table_id, t.tier_id, {cycle_start} AS cycle
  FROM counted AS c
  {names}
  LEFT JOIN models AS mk ON mk.text = c.model
  {offer_join}
  LEFT JOIN rate_tables AS rt ON rt.offer_id = o.offer_id
    AND (rt.start_us IS NULL OR c.instant >= rt.start_us) AND (rt.end_us IS NULL OR c.instant < rt.end_us)
  LEFT JOIN tiers AS t ON t.table_id = rt.table_id AND (t.after IS NULL OR {selector} > t.after)
    AND (t.upto IS NULL OR {selector} <= t.upto))"""

    def _selector_count(self) -> str:
        """The per-request sum of each offer's selector types (a type the record has no column for counts 0)."""
        selectors = sorted({offer.selector for offer in self.offers})
        by_type = {c.token_type: i for i, c in enumerate(self.columns)}

        def one(token_type: str) -> str:
            i = by_type.get(token_type)
            return "0" if i is None else f"(CASE WHEN c.present_{i} THEN c.n_{i} ELSE 0 END)"

        def count(selector: tuple[str, ...]) -> str:
            return one(selector[0]) if len(selector) == 1 else f"({' + '.join(one(t) for t in selector)})"
        if len(selectors) == 1:
            return count(selectors[0])
        cases = " ".join(f"WHEN o.offer_id IN ({', '.join(str(i) for i, o in enumerate(self.offers) if o.selector == s)})"
                         f" THEN {count(s)}" for s in selectors)
        return f"(CASE {cases} ELSE 0 END)"

    def _rated(self) -> str:
        n = len(self.columns)
        count_faults = " ".join(f"WHEN err_{i} IS NOT NULL AND present_{i} THEN 'E204'" for i in range(n))
        no_price = " OR ".join(f"(present_{i} AND f.cat_{i} = 'no_price')" for i in range(n)) or "false"
        foreign = " OR ".join(f"(present_{i} AND coalesce(f.cat_{i}, 'foreign') = 'foreign' AND n_{i} <> 0)"
                              for i, c in enumerate(self.columns) if not c.fee) or "false"
        code = f"""CASE
      WHEN pre_code IS NOT NULL THEN pre_code
      WHEN account IS NULL OR account = '' OR region IS NULL OR region = '' OR model IS NULL OR model = ''
        OR ts IS NULL OR ts = '' THEN 'E201'
      WHEN ts_code IS NOT NULL THEN ts_code
      WHEN instant < 0 OR instant >= {instant_of(LATEST)} THEN 'E202'
      {count_faults}
      WHEN requests_error IS NOT NULL THEN 'E204'
      WHEN named_region IS NULL THEN 'E101'
      WHEN NOT offered AND NOT known_model THEN 'E102'
      WHEN NOT offered THEN 'E103'
      WHEN offer_id IS NULL THEN 'E110'
      WHEN table_id IS NULL THEN 'E108'
      WHEN p.tier_id IS NULL THEN 'E104'
      WHEN {no_price} THEN 'E105'
      WHEN {foreign} THEN 'E107'
    END"""
        kept = ", ".join(f"(present_{i} AND f.cat_{i} IN ('priced', 'not_billed')) AS kept_{i}, "
                         f"f.cat_{i} AS cat_{i}, n_{i}, CAST(n_{i} AS {QUANTITY}) * requests AS total_{i}"
                         for i in range(n))
        trial = "false" if self.book.trial is None else f"instant < {instant_of(self.book.trial.until)}"
        ctes = f"""{self._fields()},
{self._timestamps()},
{self._counts()},
{self._placed()},
coded AS (
  SELECT p.*, {kept}, {code} AS code
  FROM placed AS p LEFT JOIN tier_flags AS f ON f.tier_id = p.tier_id),
firsts AS (  -- where each request_id was first read among the records that can be billed: the one billed
  SELECT *, min(file_index * {_LINES} + line) OVER (PARTITION BY code IS NULL, request_id) AS first_read
  FROM coded)"""
        return ctes, f"""SELECT file_index, source, line, record, pre_reason, account, instant, cycle, offer_id, region_id, offer_model AS model, offer_variant AS variant,
  tier_id, requests, request_id, {trial} AS in_trial,
  {', '.join(f'kept_{i}, cat_{i}, n_{i}, total_{i}' for i in range(n))},
  CASE WHEN code IS NULL AND request_id <> '' AND file_index * {_LINES} + line <> first_read THEN 'E207'
       ELSE code END AS code
FROM firsts"""

    # -- stage 2: lines ------------------------------------------------------------------------

    def _lines(self) -> str:
        n = len(self.columns)
        billed = "billed AS (SELECT * FROM rated WHERE code IS NULL)"
        sums = ", ".join(f"sum(CASE WHEN kept_{i} THEN total_{i} END) AS q_{i}, "
                         f"count(CASE WHEN kept_{i} THEN 1 END) AS p_{i}" for i in range(n))
        groups = "account, cycle, offer_id, tier_id"
        usage = f"usage_groups AS (SELECT {groups}, {sums} FROM billed GROUP BY {groups})"
        trial = f"trial_groups AS (SELECT {groups}, {sums} FROM billed WHERE in_trial GROUP BY {groups})"
        quota_ctes = self._quota()
        pick = " ".join(f"WHEN {i} THEN q_{i}" for i in range(n))
        present = " ".join(f"WHEN {i} THEN p_{i}" for i in range(n))
        columns = " ".join(f"({i})" for i in range(n)).replace(") (", "), (")
        unpivot = [f"SELECT {groups}, c.col, '{kind}' AS kind, {order} AS kind_order, "
                   f"CASE c.col {pick} END AS quantity, CASE c.col {present} END AS present FROM {source} "
                   f"CROSS JOIN (VALUES {columns}) AS c(col)"
                   for order, kind in enumerate(KINDS) for source in (f"{kind}_groups",)]
        ctes = f"""{billed},
{usage},
{trial},
{quota_ctes},
unpivoted AS (
  {unpivot[0]}
  UNION ALL {unpivot[1]}
  UNION ALL {unpivot[2]}),
bill_lines AS (
  SELECT u.account, u.cycle, u.offer_id, u.tier_id, o.region_id AS region, o.model, tc.token_type, u.kind,
    CAST(u.quantity AS {QUANTITY}) AS quantity, tc.per_unit AS unit_price,
    CAST(CASE WHEN tc.per_token IS NULL THEN CAST(0 AS DECIMAL(38, {self.scale}))
              WHEN u.kind = 'usage' THEN CAST(u.quantity AS {QUANTITY}) * tc.per_token
              ELSE -(CAST(u.quantity AS {QUANTITY}) * tc.per_token) END AS DECIMAL(38, {self.scale})) AS amount,
    tc.position, u.kind_order
  FROM unpivoted AS u
  JOIN tier_columns AS tc ON tc.tier_id = u.tier_id AND tc.col = u.col
  JOIN offers AS o ON o.offer_id = u.offer_id
  WHERE (u.kind = 'usage' AND u.present > 0) OR (u.kind <> 'usage' AND u.quantity > 0))"""
        return ctes, f"""SELECT account, cycle, offer_id, tier_id, region, model, token_type, kind, quantity, unit_price, amount,
  {self._line_rank()} AS tier_rank, position, kind_order, {self._tier_label()} AS tier
FROM bill_lines"""

    def _line_rank(self) -> str:
        """`billing._line_order`: cycle, region, model, tier index and line (as a rank), per offer and tier."""
        ranked = sorted(((o.region.id, o.model, o.variant, t.index, t.span.line, oid, self.tier_ids[id(t)])
                         for oid, o in enumerate(self.offers) for tb in o.tables for t in tb.tiers))
        cases = " ".join(f"WHEN offer_id = {oid} AND tier_id = {tid} THEN {rank}"
                         for rank, (*_, oid, tid) in enumerate(ranked))
        return f"(CASE {cases} ELSE 0 END)" if cases else "0"

    def _tier_label(self) -> str:
        cases = " ".join(f"WHEN {i} THEN {literal(t.label)}" for i, t in enumerate(self.tiers))
        return f"(CASE tier_id {cases} END)" if cases else "''"

    def _quota(self) -> str:
        quota = self.book.quota
        groups = "account, cycle, offer_id, tier_id"
        n = len(self.columns)
        by_type = {c.token_type: i for i, c in enumerate(self.columns)}
        consumed = [by_type[t] for t in (quota.consumes if quota else ()) if t in by_type]
        if not consumed:
            empty = ", ".join(f"CAST(NULL AS {QUANTITY}) AS q_{i}, 0 AS p_{i}" for i in range(n))
            return f"quota_groups AS (SELECT {groups}, {empty} FROM billed WHERE 1 = 0)"
        parts = ", ".join(f"CASE WHEN kept_{i} AND cat_{i} = 'priced' AND NOT in_trial THEN total_{i} "
                          f"ELSE CAST(0 AS {QUANTITY}) END AS c_{i}" for i in consumed)
        tokens = " + ".join(f"c_{i}" for i in consumed)
        key = self._tokens_key()
        takes, before = [], []
        for i in consumed:
            already = " + ".join(before) if before else f"CAST(0 AS {QUANTITY})"
            takes.append(f"least(greatest(avail - ({already}), CAST(0 AS {QUANTITY})), c_{i}) AS take_{i}")
            before.append(f"c_{i}")
        sums = ", ".join(f"sum(take_{i}) AS q_{i}, 0 AS p_{i}" if i in consumed else
                         f"CAST(NULL AS {QUANTITY}) AS q_{i}, 0 AS p_{i}" for i in range(n))
        ctes = f"""first_use AS (SELECT account, min(instant) AS first_instant FROM billed GROUP BY account),
{self._windows()},
entries AS (
  SELECT b.*, {parts}, {key} AS tokens_key
  FROM billed AS b),
in_window AS (
  SELECT e.*, {tokens} AS tokens FROM entries AS e JOIN windows AS w ON w.account = e.account
  WHERE {tokens} > 0 AND e.instant < w.window_end),
credited AS (
  SELECT *, greatest(CAST({quota.free_tokens} AS {QUANTITY}) - coalesce(sum(tokens) OVER (
      PARTITION BY account ORDER BY instant, request_id, region_id, model, variant, tokens_key, requests
      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), CAST(0 AS {QUANTITY})), CAST(0 AS {QUANTITY})) AS avail
  FROM in_window),
taken AS (SELECT *, {', '.join(takes)} FROM credited),
quota_groups AS (SELECT {groups}, {sums} FROM taken GROUP BY {groups})"""
        return ctes

    def _tokens_key(self) -> str:
        """`RatedRecord.order`'s token part as text that sorts alike: `type count ` per kept type, by name, with
        counts padded to one width (a space sorts before every character of a token type's name)."""
        parts = [f"CASE WHEN kept_{i} THEN {literal(c.token_type + ' ')} || lpad(CAST(n_{i} AS VARCHAR), "
                 f"{MAX_COUNT_DIGITS}, '0') || ' ' ELSE '' END"
                 for i, c in sorted(enumerate(self.columns), key=lambda pair: pair[1].token_type)]
        return "(" + " || ".join(parts) + ")" if parts else "''"

    def _windows(self) -> str:
        """Each account's end of its quota window: `first_instant` plus the window, in the book's zone (as
        `moments.add_months` counts months: the same wall-clock time, clamped to the month's last day)."""
        quota = self.book.quota
        if quota.window_unit == "days":
            return (f"windows AS (SELECT account, first_instant + {quota.window_length * _DAY_US} AS window_end "
                    "FROM first_use)")
        local = f"(first_instant + {self.zone_us})"
        day_part = f"((({local} % {_DAY_US}) + {_DAY_US}) % {_DAY_US})"
        civil = [("z", f"(first_instant + {self.zone_us} - {day_part}) // {_DAY_US} + 719468"),
                 ("era", "z // 146097"), ("doe", "z - era * 146097"),
                 ("yoe", "(doe - doe // 1460 + doe // 36524 - doe // 146096) // 365"),
                 ("doy", "doe - (365 * yoe + yoe // 4 - yoe // 100)"), ("mp", "(5 * doy + 2) // 153"),
                 ("fd", "doy - (153 * mp + 2) // 5 + 1"), ("fm", "CASE WHEN mp < 10 THEN mp + 3 ELSE mp - 9 END"),
                 ("fy", "yoe + era * 400 + CASE WHEN fm <= 2 THEN 1 ELSE 0 END"),
                 ("months", f"fy * 12 + fm - 1 + {quota.window_length}"),
                 ("wy", "months // 12"), ("wm", "months % 12 + 1"), ("wd", f"least(fd, {_days_in_month('wy', 'wm')})")]
        source = f"(SELECT account, first_instant, {day_part} AS day_part FROM first_use)"
        for name, expression in civil:
            source = f"(SELECT *, {expression} AS {name} FROM {source} AS s_{name})"
        end = f"{_days_from_civil('wy', 'wm', 'wd')} * {_DAY_US} + day_part - {self.zone_us}"
        # one row per account already: the aggregate is there so that no optimizer inlines this long
        # expression into the join that reads it (Spark's did, and expanded it into a 1 MB tree)
        return f"windows AS (SELECT account, max({end}) AS window_end FROM {source} AS civil GROUP BY account)"

    # -- stage 3: rejects ----------------------------------------------------------------------

    def _rejects(self) -> str:
        reasons = " ".join(f"WHEN {literal(code)} THEN {literal(text)}" for code, text in REASONS.items())
        return ("SELECT file_index, source, line, record, code, coalesce(pre_reason, CASE code "
                f"{reasons} END) AS reason FROM rated WHERE code IS NOT NULL")


def _category(tier: Tier, prices, token_type: str) -> str:
    if token_type in prices:
        return "priced"
    if token_type in tier.not_billed:
        return "not_billed"
    if token_type in tier.token_types:
        return "no_price"
    return "foreign"


def _count_error(stripped: str, raw: str) -> str:
    """Why a count field is not a count, or NULL: `records.parse_count`'s checks, in its order."""
    digits = f"CASE WHEN substr({stripped}, 1, 1) = '-' THEN substr({stripped}, 2) ELSE {stripped} END"
    significant = f"coalesce(nullif(ltrim({digits}, '0'), ''), '0')"
    return (f"CASE WHEN {raw} IS NULL THEN 'is null' WHEN {stripped} = '' THEN 'is empty' "
            f"WHEN NOT regexp_matches({stripped}, '^-?[0-9]+$') THEN 'not a count' "
            f"WHEN length({significant}) > {MAX_COUNT_DIGITS} THEN 'too large' "
            f"WHEN substr({stripped}, 1, 1) = '-' AND {significant} <> '0' THEN 'negative' END")


def _checked(stripped: str, raw: str, value: str) -> str:
    """`_count_error`, skipped for a count whose value was read and has no minus sign (nearly all)."""
    return (f"CASE WHEN {value} IS NOT NULL AND substr({stripped}, 1, 1) <> '-' THEN NULL "
            f"ELSE {_count_error(stripped, raw)} END")


def _count_value(stripped: str) -> str:
    """The count of a field that `_count_error` passes (NULL, never an error, for any other)."""
    digits = f"CASE WHEN substr({stripped}, 1, 1) = '-' THEN substr({stripped}, 2) ELSE {stripped} END"
    significant = f"coalesce(nullif(ltrim({digits}, '0'), ''), '0')"
    return (f"(CASE WHEN regexp_matches({stripped}, '^-?[0-9]+$') AND length({significant}) <= {MAX_COUNT_DIGITS} "
            f"THEN TRY_CAST({significant} AS BIGINT) END)")


def _days_in_month(y: str, m: str) -> str:
    leap = f"(({y}) % 4 = 0 AND (({y}) % 100 <> 0 OR ({y}) % 400 = 0))"
    return (f"(CASE WHEN ({m}) = 2 THEN CASE WHEN {leap} THEN 29 ELSE 28 END "
            f"WHEN ({m}) IN (4, 6, 9, 11) THEN 30 ELSE 31 END)")


def _days_from_civil(y: str, m: str, d: str) -> str:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm), for years 1 and later."""
    year = f"(({y}) - CASE WHEN ({m}) <= 2 THEN 1 ELSE 0 END)"
    era = f"({year} // 400)"
    yoe = f"({year} - {era} * 400)"
    doy = f"((153 * ((({m}) + 9) % 12) + 2) // 5 + ({d}) - 1)"
    doe = f"({yoe} * 365 + {yoe} // 4 - {yoe} // 100 + {doy})"
    return f"({era} * 146097 + {doe} - 719468)"


def _us(moment: datetime | None) -> str:
    return "CAST(NULL AS BIGINT)" if moment is None else str(instant_of(moment))


def _int(value: int | None) -> str:
    return "CAST(NULL AS BIGINT)" if value is None else str(value)


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _earliest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)
