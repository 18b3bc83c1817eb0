"""A DuckDB bill written as CSV by DuckDB: the text `writers.py` writes, byte for byte, without Python per line.

Takes the DuckDB connection of a bill (its `bill_lines` table), the book and
its `RatingQuery`, and writes the bill's CSV (`writers.csv_chunks`) to a text
handle. A bill of millions of lines is written at DuckDB's speed: each line
is its cycle, account, quantity and amounts, formatted in SQL, around pieces
that every line of one offer, tier, token type and kind shares, which Python
makes once with the reference writer's own `line_fields` and `csv` module
(so quoting and every constant text are the reference's). The rounding of
each line is the largest remainder method of `billing.largest_remainder`,
in window functions; the book's rounding mode in scaled integers.

`tests/test_sql_engines.py` holds this writer to `writers.py`, byte for byte.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from datetime import UTC, datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, ROUND_UP
from typing import TextIO

import pyarrow as pa

from ..billing import BillLine, line_context
from ..rating import CYCLE_SECONDS
from ..tables import NO_PRICES, PriceBook
from ..writers import LINE_COLUMNS, line_fields
from .query import LINE_ORDER, RatingQuery, literal

_BEFORE = LINE_COLUMNS[LINE_COLUMNS.index("region"):LINE_COLUMNS.index("quantity")]
_MIDDLE = LINE_COLUMNS[LINE_COLUMNS.index("quantity") + 1:LINE_COLUMNS.index("amount")]
_AFTER = LINE_COLUMNS[LINE_COLUMNS.index("currency"):]


def write_csv(con, book: PriceBook, query: RatingQuery, currency: str, handle: TextIO, workdir: str) -> None:
    """The bill's CSV, as `writers.FORMATS["csv"]` writes it, from the `bill_lines` table of `con`."""
    _pieces_table(con, book, query, currency)
    path = os.path.join(workdir, "bill.csv")
    con.execute("SET preserve_insertion_order = true")  # COPY keeps the ORDER BY
    con.execute(f"COPY ({_lines_sql(book)}) TO {literal(path)} (FORMAT csv, HEADER false, QUOTE '', ESCAPE '')")
    handle.write(_csv_row(LINE_COLUMNS))
    with open(path, encoding="utf-8", newline="") as text:
        shutil.copyfileobj(text, handle, 1 << 20)
    os.remove(path)


def _quoted_by_csv(character: str) -> bool:
    return _csv_row(["a" + character + "b"]).startswith('"')


def _csv_row(values) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


#: The characters for which Python's csv module quotes a field (its lineterminator's: this Python's rule).
_NEEDS_QUOTES = "[" + "".join(c for c in ',"\n\r' if _quoted_by_csv(c)).replace("\n", "\\n").replace("\r", "\\r") + "]"


def _pieces_table(con, book: PriceBook, query: RatingQuery, currency: str) -> None:
    """Per offer, tier, token type and kind: the CSV text of the columns that are the same on every such line."""
    context = line_context(book, currency)
    start = datetime.fromtimestamp(0, UTC)
    keys = con.execute("SELECT DISTINCT offer_id, tier_id, token_type, kind FROM bill_lines").fetchall()
    columns = {name: [] for name in ("offer_id", "tier_id", "token_type", "kind", "before", "middle", "after")}
    for offer_id, tier_id, token_type, kind in keys:
        tier = query.tiers[tier_id]
        line = BillLine(start, "", query.offers[offer_id], tier, token_type, kind, 0,
                        tier.prices.get(currency, NO_PRICES).get(token_type), context)
        fields = line_fields(line)
        for name, value in (("offer_id", offer_id), ("tier_id", tier_id), ("token_type", token_type), ("kind", kind)):
            columns[name].append(value)
        for name, part in (("before", _BEFORE), ("middle", _MIDDLE), ("after", _AFTER)):
            columns[name].append(_csv_row([fields[column] for column in part]).removesuffix("\n"))
    con.register("line_piece_rows", pa.table(columns))
    con.execute("CREATE OR REPLACE TABLE line_pieces AS SELECT * FROM line_piece_rows")
    con.unregister("line_piece_rows")


def _lines_sql(book: PriceBook) -> str:
    places = -book.quantum.as_tuple().exponent
    quantum = f"CAST({literal(str(book.quantum))} AS DECIMAL({places + 1}, {places}))"
    zone_s = int(book.zone.utcoffset(None).total_seconds())
    zone = datetime.fromtimestamp(0, book.zone).isoformat()[19:]  # `+08:00`, as isoformat writes the offset
    cycle_seconds = CYCLE_SECONDS[book.cycle]

    def moment(seconds: str) -> str:
        return f"strftime(make_timestamp(({seconds} + {zone_s}) * 1000000), '%Y-%m-%dT%H:%M:%S') || {literal(zone)}"
    cycles = (f"cycles AS (SELECT cycle, {moment('cycle')} || ',' || {moment(f'cycle + {cycle_seconds}')} AS text "
              "FROM (SELECT DISTINCT cycle FROM bill_lines) AS c)")
    rounded = _round("amount", places, quantum, book.round_mode)
    return f"""
WITH {cycles},
lines AS (
  SELECT *, kind = 'usage' AS listed, {rounded} AS rounded
  FROM bill_lines),
targets AS (
  SELECT account, {_round("sum(CASE WHEN kind = 'usage' THEN amount ELSE 0 END)", places, quantum, book.round_mode)} AS list_total,
    {_round('sum(amount)', places, quantum, book.round_mode)} AS billed_total
  FROM bill_lines GROUP BY account),
groups AS (
  SELECT l.*, CASE WHEN listed THEN t.list_total ELSE t.billed_total - t.list_total END AS target,
    sum(rounded) OVER (PARTITION BY l.account, listed) AS rounded_sum,
    count(CASE WHEN amount <> 0 THEN 1 END) OVER (PARTITION BY l.account, listed) AS candidates
  FROM lines AS l JOIN targets AS t ON t.account = l.account),
missing AS (
  SELECT *, CAST((target - rounded_sum) * CAST({10 ** places} AS DECIMAL(38, 0)) AS BIGINT) AS short FROM groups),
ranked AS (
  SELECT *, CASE WHEN amount = 0 OR short = 0 THEN NULL ELSE row_number() OVER (
      PARTITION BY account, listed, amount <> 0
      ORDER BY CASE WHEN short > 0 THEN rounded - amount ELSE amount - rounded END,
               {LINE_ORDER.replace('account, ', '')}) END AS place
  FROM missing),
adjusted AS (
  SELECT *, rounded + {quantum} * CAST(sign(short) * (abs(short) // greatest(candidates, 1)
      + CASE WHEN place <= abs(short) % greatest(candidates, 1) THEN 1 ELSE 0 END) AS BIGINT) AS final
  FROM ranked)
SELECT c.text || ',' ||
    CASE WHEN regexp_matches(a.account, {literal(_NEEDS_QUOTES)}) THEN '"' || replace(a.account, '"', '""') || '"'
         ELSE a.account END || ',' || p.before || ',' || CAST(a.quantity AS VARCHAR) || ',' || p.middle || ',' ||
    {_plain('a.amount')} || ',' || CAST(CASE WHEN a.place IS NULL THEN a.rounded ELSE a.final END AS VARCHAR)
    || ',' || p.after AS text
FROM adjusted AS a
JOIN cycles AS c ON c.cycle = a.cycle
JOIN line_pieces AS p ON p.offer_id = a.offer_id AND p.tier_id = a.tier_id AND p.token_type = a.token_type
  AND p.kind = a.kind
ORDER BY {', '.join('a.' + column for column in LINE_ORDER.split(', '))}"""


def _plain(amount: str) -> str:
    """`money.plain`: the exact amount without trailing zeros (`0.0003888`, `12`, `0`)."""
    return f"(CASE WHEN contains(CAST({amount} AS VARCHAR), '.') THEN " \
           f"rtrim(rtrim(CAST({amount} AS VARCHAR), '0'), '.') ELSE CAST({amount} AS VARCHAR) END)"


def _round(amount: str, places: int, quantum: str, mode: str) -> str:
    """`money.round_amount` in SQL: the amount to `places` decimals in the book's mode, exactly. Only the
    fraction below 1 is scaled by 10**places: the whole amount scaled would overflow DECIMAL(38) for amounts
    the bill itself holds."""
    units = f"trunc({amount})"
    scaled = f"(({amount} - {units}) * CAST({10 ** places} AS DECIMAL(38, 0)))"
    whole = f"trunc({scaled})"
    fraction = f"abs({scaled} - {whole})"
    half = "CAST(0.5 AS DECIMAL(2, 1))"
    sign = f"sign({amount})"
    odd = f"CAST({whole if places else units} AS HUGEINT) % 2 <> 0"  # the last kept digit
    away = {
        ROUND_HALF_UP: f"{fraction} >= {half}",
        ROUND_HALF_DOWN: f"{fraction} > {half}",
        ROUND_HALF_EVEN: f"({fraction} > {half} OR ({fraction} = {half} AND {odd}))",
        ROUND_UP: f"{fraction} > 0",
        ROUND_DOWN: "false",
        ROUND_CEILING: f"({fraction} > 0 AND {sign} > 0)",
        ROUND_FLOOR: f"({fraction} > 0 AND {sign} < 0)",
    }[mode]
    steps = f"(CAST({whole} AS DECIMAL(38, 0)) + CASE WHEN {away} THEN CAST({sign} AS DECIMAL(38, 0)) ELSE 0 END)"
    return f"CAST(CAST({units} AS DECIMAL(38, 0)) + {steps} * {quantum} AS DECIMAL(38, {places}))"
