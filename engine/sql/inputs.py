"""Usage files to the `ratecard_usage` relation the rating query reads.

Takes usage inputs (`records.UsageFiles`: CSV, JSON Lines, Parquet) and a
DuckDB connection, and fills the table `ratecard_usage`: one row per record, its
fields as text, with the source, line number and text a reject shows, and
the reader's own reject (`pre_code`, `pre_reason`) for a line that is no
record at all. Every line is read as the Python engine reads it:

- CSV: ratecard's own line reader (`records.UsageInput.blocks`) splits the
  bytes into lines and decodes them, so every physical line is one record
  and a bad byte or an over-long line costs only its own line; the lines go
  to DuckDB in Arrow batches, and DuckDB splits each plain line on its
  commas. The few lines with a quote or a carriage return are split by
  `records.split_csv_line`, the Python engine's own splitter.
- JSON Lines: parsed by `records.json_record` and checked by the Python
  rater record by record (their fields are Python values, not text), then
  handed over as text.
- Parquet: read by DuckDB; values become text as a CSV file would hold them
  (integers as digits, timestamps in ISO 8601 with their offset).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any

import duckdb
import pyarrow as pa

from ..billing import reject_of
from ..errors import PricingError, RecordError
from ..rating import Rater
from ..records import (
    CsvLayout,
    LineBlock,
    MalformedRow,
    RawRecord,
    Reject,
    UnreadableLine,
    UsageFileError,
    UsageFiles,
    UsageInput,
    check_header,
    json_record,
    read_header,
    shown,
    split_csv_line,
    token_fields,
)
from .query import USAGE_FIELDS as FIELDS, literal, ws

SHOWN = 200  # characters of a line a reject shows (records.shown)
_BATCH = 65_536  # JSON Lines records per batch


class UsageTable:
    """The `ratecard_usage` table of one bill: created empty, then filled input by input; a token column per type."""

    def __init__(self, con, rater: Rater) -> None:
        self.con = con
        self.rater = rater
        self.book = rater.book
        self.columns: dict[str, str] = {}  # token type -> its column, tok_0, tok_1, ...
        self.fields = (*FIELDS, *self.book.variant_fields)  # the text fields: the record's, the variant fields
        fields = ", ".join(f'"{name}" VARCHAR' for name in self.fields)
        con.execute("CREATE TABLE ratecard_usage (file_index INTEGER, source VARCHAR, line BIGINT, record VARCHAR, "
                    f"pre_code VARCHAR, pre_reason VARCHAR, {fields})")
        for token_type in ("input", "output", *sorted(self.book.token_types - {"input", "output"})):
            self.column(token_type)

    @property
    def token_types(self) -> tuple[str, ...]:
        return tuple(self.columns)

    def column(self, token_type: str) -> str:
        name = self.columns.get(token_type)
        if name is None:
            name = self.columns[token_type] = f"tok_{len(self.columns)}"
            self.con.execute(f"ALTER TABLE ratecard_usage ADD COLUMN {name} VARCHAR")
        return name

    def add(self, files: UsageFiles) -> None:
        files.check_headers(self.rater.meters)  # as the Python engine does, before any record is read
        for index, usage in enumerate(files.inputs):
            if usage.form == "parquet":
                self.add_parquet(index, usage)
            elif usage.sniff() == "jsonl":
                self.add_json_lines(index, usage)
            else:
                self.add_csv(index, usage)

    # -- CSV ------------------------------------------------------------------------------------

    def add_csv(self, index: int, usage: UsageInput) -> None:
        blocks = usage.blocks()
        try:
            layout, first = self._csv_header(usage, blocks)
            raw = pa.RecordBatchReader.from_batches(_RAW_SCHEMA, _raw_batches(itertools.chain([first], blocks)))
            self.con.register("raw_lines", raw)
            self.con.execute("CREATE TEMP TABLE raw AS SELECT * FROM raw_lines")
            self.con.unregister("raw_lines")
        finally:
            blocks.close()
        self._split_quoted()
        width = len(layout.names)
        positions = {"timestamp": layout.timestamp, "account": layout.account, "region": layout.region,
                     "model": layout.model, "requests": layout.requests, "request_id": layout.request_id}
        positions |= dict(zip(self.book.variant_fields, layout.variant_indexes))
        fields = {name: ("NULL" if at is None else f"f[{at + 1}]") for name, at in positions.items()}
        tokens = {self.column(t): f"f[{at + 1}]" for t, at in zip(layout.token_types, layout.token_indexes)}
        names = ", ".join([*(f'"{n}"' for n in fields), *tokens])
        values = ", ".join([*fields.values(), *tokens.values()])
        text = "r.text"
        self.con.execute(f"""
INSERT INTO ratecard_usage (file_index, source, line, record, pre_code, pre_reason, {names})
SELECT {index}, {literal(usage.source)}, line,
  CASE WHEN text IS NULL THEN '' WHEN length(text) <= {SHOWN} THEN text ELSE substr(text, 1, {SHOWN}) || '...' END,
  CASE WHEN text IS NULL THEN '{UnreadableLine.code}' WHEN quoted_reason IS NOT NULL OR len(f) <> {width}
       THEN '{MalformedRow.code}' END,
  CASE WHEN text IS NULL THEN problem WHEN quoted_reason IS NOT NULL THEN quoted_reason
       WHEN len(f) <> {width} THEN 'the row has ' || CAST(len(f) AS VARCHAR) || ' fields, the header has {width}' END,
  {values}
FROM (SELECT r.line, {text} AS text, r.problem, q.reason AS quoted_reason, q.blank,
        CASE WHEN q.line IS NOT NULL THEN q.fields ELSE string_split({text}, ',') END AS f
      FROM raw AS r LEFT JOIN quoted AS q ON q.line = r.line) AS lines
WHERE NOT coalesce(blank, text IS NOT NULL AND trim(text, {ws()}) = '')""")
        self.con.execute("DROP TABLE raw")
        self.con.execute("DROP TABLE quoted")

    def _csv_header(self, usage: UsageInput, blocks: Iterator[LineBlock]) -> tuple[CsvLayout, LineBlock]:
        """The file's layout (`UsageFileError` when its header cannot be billed) and its first block less it."""
        first = next(blocks, None)
        lines = iter(first.lines()) if first is not None else iter(())
        header = read_header(usage, lines)
        return CsvLayout.of(header, self.rater.meters, usage.source), first._replace(
            first=first.first + 1, texts=first.texts[1:],
            problems={k - 1: v for k, v in first.problems.items() if k})

    def _split_quoted(self) -> None:
        """Lines with a quote or a carriage return, split by the Python engine's splitter."""
        rows = self.con.execute("SELECT line, text FROM raw WHERE text IS NOT NULL AND "
                                "(contains(text, '\"') OR contains(text, chr(13)))").fetchall()
        lines, fields, blank, reasons = [], [], [], []
        for line, text in rows:
            lines.append(line)
            if not text.strip():
                fields.append(None), blank.append(True), reasons.append(None)
                continue
            try:
                fields.append(split_csv_line(text)), blank.append(False), reasons.append(None)
            except MalformedRow as error:
                fields.append(None), blank.append(False), reasons.append(error.message)
        table = pa.table({"line": pa.array(lines, pa.int64()), "fields": pa.array(fields, pa.list_(pa.string())),
                          "blank": pa.array(blank, pa.bool_()), "reason": pa.array(reasons, pa.string())})
        self.con.register("quoted_rows", table)
        self.con.execute("CREATE TEMP TABLE quoted AS SELECT * FROM quoted_rows")
        self.con.unregister("quoted_rows")

    # -- JSON Lines -----------------------------------------------------------------------------

    def add_json_lines(self, index: int, usage: UsageInput) -> None:
        columns = {name: [] for name in ("line", "record", "pre_code", "pre_reason", *self.fields)}
        tokens: dict[str, list] = {}
        count = 0
        for line in usage.lines():
            item = json_record(usage, line)
            if item is None:
                continue
            columns["line"].append(line[0])
            reject = item if isinstance(item, Reject) else self._checked(item)
            if reject is not None:
                columns["record"].append(reject.record)
                columns["pre_code"].append(reject.code)
                columns["pre_reason"].append(reject.reason)
                for name in self.fields:
                    columns[name].append(None)
                values = {}
            else:
                columns["record"].append(shown(item.text))
                columns["pre_code"].append(None)
                columns["pre_reason"].append(None)
                for name in self.fields:
                    columns[name].append(_text(item.fields.get(name)))
                values = {token_type: _text(item.fields[name]) for name, token_type in token_fields(item.fields, self.rater.meters)
                          if token_type in self.book.token_types}
            for token_type in values.keys() - tokens.keys():
                tokens[token_type] = [None] * count
            for token_type, column in tokens.items():
                column.append(values.get(token_type))
            count += 1
            if count == _BATCH:
                self._insert_columns(index, usage, columns, tokens, count)
                columns = {name: [] for name in columns}
                tokens, count = {}, 0
        self._insert_columns(index, usage, columns, tokens, count)

    def _checked(self, item: RawRecord) -> Reject | None:
        """None when the Python rater takes the record (SQL then checks it again, as text), else its reject."""
        try:
            self.rater.rate(item.fields)
        except (RecordError, PricingError) as error:
            return reject_of(error, item.source, item.line, shown(item.text))
        return None

    def _insert_columns(self, index: int, usage: UsageInput, columns: dict, tokens: dict, count: int) -> None:
        if not count:
            return
        data = {name: pa.array(values, pa.int64() if name == "line" else pa.string())
                for name, values in columns.items()}
        names = {name: f'"{name}"' for name in columns}
        for token_type, values in tokens.items():
            column = self.column(token_type)
            data[column] = pa.array(values, pa.string())
            names[column] = column
        self.con.register("json_rows", pa.table(data))
        self.con.execute(f"INSERT INTO ratecard_usage (file_index, source, {', '.join(names.values())}) "
                         f"SELECT {index}, {literal(usage.source)}, {', '.join(names.values())} FROM json_rows")
        self.con.unregister("json_rows")

    # -- Parquet --------------------------------------------------------------------------------

    def add_parquet(self, index: int, usage: UsageInput) -> None:
        if usage.path is None:
            raise UsageFileError("Parquet cannot be read from standard input", "pass the Parquet file's path")
        source = f"read_parquet({literal(str(usage.path))}, file_row_number = true)"
        try:
            described = self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
        except duckdb.OutOfMemoryException:
            raise
        except duckdb.Error as error:  # not a Parquet file, or one that cannot be read
            raise UsageFileError(f"cannot read {usage.source} as Parquet: {str(error).splitlines()[0]}",
                                 "pass a Parquet file, or CSV (.csv) or JSON Lines (.jsonl)") from None
        types = {name: kind for name, kind, *_ in described if name != "file_row_number"}
        check_header(list(types), self.rater.meters, usage.source)
        as_text = {name: _parquet_text(f'"{name}"', kind) for name, kind in types.items()}
        fields = {name: as_text.get(name, "NULL") for name in self.fields}
        tokens = {self.column(t): as_text[name] for name, t in token_fields(types, self.rater.meters)}
        record = "concat_ws(',', " + ", ".join(f"coalesce({v}, '')" for v in as_text.values()) + ")"
        names = ", ".join([*(f'"{n}"' for n in fields), *tokens])
        self.con.execute(f"""
INSERT INTO ratecard_usage (file_index, source, line, record, {names})
SELECT {index}, {literal(usage.source)}, file_row_number + 1,
  CASE WHEN length({record}) <= {SHOWN} THEN {record} ELSE substr({record}, 1, {SHOWN}) || '...' END,
  {', '.join([*fields.values(), *tokens.values()])}
FROM {source}""")


def _parquet_text(column: str, kind: str) -> str:
    """A Parquet value as a CSV file would write it."""
    if kind == "VARCHAR":
        return column
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return f"strftime(timezone('UTC', {column}), '%Y-%m-%dT%H:%M:%S.%f') || 'Z'"
    if kind.startswith("TIMESTAMP"):
        return f"strftime({column}, '%Y-%m-%dT%H:%M:%S.%f')"
    return f"CAST({column} AS VARCHAR)"


def _text(value: Any) -> str | None:
    """A JSON value the Python rater took, as the text a CSV file would hold for it."""
    if value is None or type(value) is str:
        return value
    return str(value)


_RAW_SCHEMA = pa.schema([("line", pa.int64()), ("text", pa.string()), ("problem", pa.string())])


def _raw_batches(blocks: Iterable[LineBlock]) -> Iterator[pa.RecordBatch]:
    for block in blocks:
        count = len(block.texts)
        if not count:
            continue
        numbers = pa.array(range(block.first, block.first + count), pa.int64())
        problems = (pa.nulls(count, pa.string()) if not block.problems else
                    pa.array([block.problems.get(i) for i in range(count)], pa.string()))
        yield pa.record_batch([numbers, pa.array(block.texts, pa.string()), problems], schema=_RAW_SCHEMA)

