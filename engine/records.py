"""Usage records: reading and validating them.

Takes usage files (CSV with a header row, or JSON Lines; `-` is standard
input) or dicts, and gives validated fields, streaming: one line in memory at
a time. A line that cannot be read or is malformed becomes a `Reject`
carrying its source, line number, original text and the reason; nothing is
dropped silently, and one bad line costs only itself.

Fields: `timestamp` (ISO 8601 with an offset or `Z`), `account`, `region` (ID or
display name), `model`, `input_tokens`, `output_tokens`, optional `requests`
(default 1), optional `<type>_tokens` for other token types, optional
`<meter>_<unit>` for a meter the book prices in another unit (`web_search_searches`),
optional `request_id`. Counts are per request.

Every physical line is one record (no field may contain a line break), read
as bytes and decoded on its own, so a stray quote or a bad byte never
swallows the lines after it. The field parsers here (`parse_counts`,
`parse_count`, `parse_requests`, `field_text`, `parse_timestamp`) are the
only ones: CSV rows, JSON Lines records and callers' dicts all reach them
through `rating.Rater.rate_fields`.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import sys
from datetime import datetime, tzinfo
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, NamedTuple

import attrs

from .errors import RatecardError, RecordError, did_you_mean
from .limits import EARLIEST, LATEST, MAX_COUNT_DIGITS, MAX_LINE_BYTES, MAX_REQUESTS, TIME_RANGE
from .units import RECORD_FIELDS, TOKENS, Unit, usage_column

REQUIRED = RECORD_FIELDS[:4]  # timestamp, account, region, model
REQUIRED_TOKENS = ("input_tokens", "output_tokens")
OPTIONAL = RECORD_FIELDS[4:]  # requests, request_id
TOKEN_SUFFIX = "_tokens"


JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")
BLOCK_BYTES = 1 << 20  # read a usage file this much at a time
FORMATS = ("csv", "jsonl", "parquet")  # Parquet: the SQL engines only
PARQUET_SUFFIXES = (".parquet", ".pq")


class MissingField(RecordError):
    code = "E201"


class BadTimestamp(RecordError):
    code = "E202"


class NaiveTimestamp(RecordError):
    code = "E203"


class BadCount(RecordError):
    code = "E204"


class MalformedRow(RecordError):
    code = "E205"


class UnreadableLine(RecordError):
    code = "E206"  # not UTF-8, or longer than MAX_LINE_BYTES


class DuplicateRequest(RecordError):
    code = "E207"


class UsageFileError(RatecardError):
    """A usage file as a whole cannot be billed (a header without the columns it needs, ...)."""

    code = "E210"


class UsageMeters(NamedTuple):
    """What a book counts, as usage reading needs it: which columns count which meter."""

    token_types: frozenset[str] = frozenset()  # every meter the book names (for did-you-mean)
    units: Mapping[str, Unit] = {}  # the meters counted in another unit than tokens, fees too
    columns: Mapping[str, str] = {}  # their usage columns (`web_search_searches`) -> meter
    variant_fields: tuple[str, ...] = ()  # the fields that choose a variant (`service_tier`), in stacking order

    @classmethod
    def of(cls, book) -> UsageMeters:
        """A compiled `PriceBook`'s meters."""
        return cls(book.token_types, book.units, book.meter_columns, book.variant_fields)

    def column(self, meter: str) -> str:
        """The usage column of `meter` (a fee has none: it is named as if it counted tokens, and refused)."""
        return usage_column(meter, self.units.get(meter, TOKENS)) or meter + TOKEN_SUFFIX

    def misnamed(self, name: str) -> str | None:
        """Why a `<meter>_tokens` column cannot be read when the book counts that meter in another unit."""
        if not name.endswith(TOKEN_SUFFIX):
            return None
        unit = self.units.get(name[: -len(TOKEN_SUFFIX)])
        if unit is None:
            return None
        meter = name[: -len(TOKEN_SUFFIX)]
        if unit.per_request:
            return f"the column '{name}' counts '{meter}', a fee each request pays once: remove the column"
        return (f"the column '{name}' counts '{meter}' in tokens, but the book counts it in {unit.plural}: "
                f"name the column '{usage_column(meter, unit)}'")


NO_METERS = UsageMeters()


@attrs.frozen(slots=True)
class UsageRecord:
    timestamp: datetime  # aware
    account: str
    region: str  # as written: an ID or a display name
    model: str
    tokens: tuple[tuple[str, int], ...]  # (token type, tokens per request)
    requests: int = 1
    request_id: str = ""
    variant: tuple[str, ...] = ()  # the variant values of the request (`flex`, `batch`): none for the model's own


class Reject(NamedTuple):
    """A record that was read but not billed, and why."""

    source: str
    line: int
    record: str  # the original row or line, as text
    code: str
    reason: str


class RawRecord(NamedTuple):
    """The fields of one line of a usage file, not yet validated."""

    source: str
    line: int
    fields: Mapping[str, Any]
    text: str  # the original line


def csv_text(values: Iterable[Any]) -> str:
    """One CSV row as text, quoted as a CSV writer would: how a rejected row is shown."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(str(v) for v in values)
    return out.getvalue()


# --- lines -----------------------------------------------------------------------------------------

class Line(NamedTuple):
    """One line of a usage input (lines also come as plain tuples of these three fields)."""

    number: int
    text: str | None  # None: the line could not be read; `problem` says why
    problem: str = ""


class UsageInput:
    """One usage input (a file, or standard input as `-`): its lines as text, one at a time."""

    def __init__(self, path: str | Path, form: str | None = None) -> None:
        self.name = str(path)
        self.is_stdin = self.name == "-"
        self.source = "<stdin>" if self.is_stdin else self.name
        self.path = None if self.is_stdin else Path(path)
        self.form = form or (None if self.is_stdin else self._form_by_suffix())
        self.bytes_read = 0

    def _form_by_suffix(self) -> str:
        suffix = self.path.suffix.lower()
        return "jsonl" if suffix in JSON_SUFFIXES else "parquet" if suffix in PARQUET_SUFFIXES else "csv"

    def refuse_parquet(self) -> None:
        """The Python engine reads CSV and JSON Lines; Parquet is read by the SQL engines."""
        if self.form == "parquet":
            raise UsageFileError(f"{self.source}: Parquet usage is billed by the SQL engine",
                                 "bill it with --engine duckdb (the sql extra: pip install 'ratecard[sql]')")

    @property
    def size(self) -> int | None:
        """Bytes in the file, or None for standard input (and anything else that is not a regular file)."""
        if self.path is None:
            return None
        try:
            return self.path.stat().st_size if self.path.is_file() else None
        except OSError:
            return None

    def _open(self) -> IO[bytes]:
        if self.is_stdin:
            return sys.stdin.buffer
        try:
            return open(self.path, "rb")
        except OSError as error:
            raise UsageFileError(f"cannot read {self.source}: {error.strerror or error}",
                                 "pass CSV (.csv) or JSON Lines (.jsonl) files, or - for standard input") from None

    def lines(self) -> Iterator[Line]:
        """Every line, numbered from 1, with its line break removed; a UTF-8 BOM at the start is dropped."""
        for block in self.blocks():
            yield from block.lines()

    def blocks(self) -> Iterator[LineBlock]:
        """The lines a block at a time (as `lines` gives them one at a time).

        Read a block at a time and split on newline bytes before decoding, so a
        bad byte or an over-long line costs only its own line.
        """
        handle = self._open()
        try:
            number, pending, skipped = 0, b"", None  # skipped: bytes of an over-long line dropped so far
            first = True
            while block := handle.read(BLOCK_BYTES):
                self.bytes_read += len(block)
                if first and block.startswith(b"\xef\xbb\xbf"):
                    block = block[3:]
                first = False
                if skipped is not None:  # the rest of an over-long line: drop it up to its newline
                    end = block.find(b"\n")
                    if end < 0:
                        skipped += len(block)
                        continue
                    number += 1
                    yield LineBlock(number, [None], {0: _too_long(skipped + end)})
                    block, skipped = block[end + 1:], None
                parts = (pending + block).split(b"\n")
                pending = parts.pop()
                if parts:
                    yield _decoded(parts, number)
                number += len(parts)
                if len(pending) > MAX_LINE_BYTES:
                    skipped, pending = len(pending), b""
            if skipped is not None:
                yield LineBlock(number + 1, [None], {0: _too_long(skipped)})
            elif pending:
                yield _decoded([pending], number)
        finally:
            if not self.is_stdin:
                handle.close()

    def csv_lines(self, meters: UsageMeters = NO_METERS) -> tuple[CsvLayout, Iterator[Line]]:
        """The layout of this CSV input's header (`UsageFileError` when it cannot be billed) and its other lines."""
        lines = self.lines()
        try:
            return CsvLayout.of(read_header(self, lines), meters, self.source), lines
        except BaseException:
            lines.close()
            raise

    def sniff(self) -> str:
        """The input's format, looking at its first non-blank byte when it was not given: `{` is JSON Lines."""
        if self.form is None:
            head = sys.stdin.buffer.peek(1) if hasattr(sys.stdin.buffer, "peek") else b""
            self.form = "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{") else "csv"
        return self.form


class LineBlock(NamedTuple):
    """Consecutive lines of a usage input: the number of the first, their texts, and why any cannot be read."""

    first: int
    texts: list[str | None]  # None: the line could not be read
    problems: dict[int, str]  # position in `texts` -> why it could not be read (empty: every line was)

    def lines(self) -> Iterable[Line]:
        """The lines as (number, text, problem) tuples; a clean block is numbered in C."""
        if not self.problems:
            return zip(itertools.count(self.first), self.texts, itertools.repeat(""))
        return [Line(self.first + i, text, self.problems.get(i, "")) for i, text in enumerate(self.texts)]


def _decoded(parts: list[bytes], number: int) -> LineBlock:
    """Lines of bytes as text lines numbered after `number`; a line that is not UTF-8 text, or too long, is a
    line with a problem. The usual block is decoded and split whole."""
    if max(map(len, parts)) <= MAX_LINE_BYTES:
        try:
            text = b"\n".join(parts).decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            if "\r" in text:  # CRLF line ends: the CR is part of the line break, not of the last field
                text = text.replace("\r\n", "\n").removesuffix("\r")
            return LineBlock(number + 1, text.split("\n"), {})
    texts, problems = [], {}
    for offset, data in enumerate(parts):
        _, text, problem = _decoded_line(offset, data)
        texts.append(text)
        if text is None:
            problems[offset] = problem
    return LineBlock(number + 1, texts, problems)


def _decoded_line(number: int, data: bytes) -> Line:
    if len(data) > MAX_LINE_BYTES:
        return Line(number, None, _too_long(len(data)))
    try:
        return Line(number, data.decode("utf-8").removesuffix("\r"))
    except UnicodeDecodeError as error:
        column = len(data[:error.start].decode("utf-8", "replace")) + 1
        return Line(number, None, f"the line is not UTF-8 text (byte 0x{data[error.start]:02x} at column {column})")


def _too_long(length: int) -> str:
    return f"the line is {length:,} bytes long; a usage line may have at most {MAX_LINE_BYTES:,}"


def shown(text: str | None, limit: int = 200) -> str:
    """A line as a reject shows it: whole when short, else its head."""
    if text is None:
        return ""
    return text if len(text) <= limit else text[:limit] + "..."


# --- CSV -------------------------------------------------------------------------------------------

class CsvLayout(NamedTuple):
    """Where each field sits in the rows of one CSV file."""

    names: tuple[str, ...]  # the header
    timestamp: int
    account: int
    region: int
    model: int
    requests: int | None
    request_id: int | None
    token_indexes: tuple[int, ...]
    token_types: tuple[str, ...]
    required_tokens: tuple[bool, ...]  # for each token column: may it be empty?
    variant_indexes: tuple[int | None, ...] = ()  # the column of each variant field of the book (None: absent)

    @classmethod
    def of(cls, header: list[str], meters: UsageMeters = NO_METERS, source: str = "usage") -> CsvLayout:
        """The layout of a header, or `UsageFileError` saying which columns are missing, repeated or misnamed."""
        check_header(header, meters, source)
        columns = {name: index for index, name in enumerate(header)}
        pairs = token_fields(header, meters)
        return cls(tuple(header), columns["timestamp"], columns["account"], columns["region"], columns["model"],
                   columns.get("requests"), columns.get("request_id"), tuple(columns[n] for n, _ in pairs),
                   tuple(t for _, t in pairs), tuple(n in REQUIRED_TOKENS for n, _ in pairs),
                   tuple(columns.get(f) for f in meters.variant_fields))


def check_header(header: list[str], meters: UsageMeters, source: str) -> None:
    """Refuse a header that would misprice: a required column missing, one repeated, or one misnamed."""
    known = {*REQUIRED, *REQUIRED_TOKENS, *OPTIONAL, *meters.columns, *meters.variant_fields}
    token_types = meters.token_types - {m for m, unit in meters.units.items() if unit.per_request}
    problems = []
    repeated = sorted({name for name in header if header.count(name) > 1})
    if repeated:
        problems.append(f"it repeats the column {', '.join(repeated)}")
    for name in header:
        if (misnamed := meters.misnamed(name)) is not None:
            problems.append(misnamed)
            continue
        if name in known or name.endswith(TOKEN_SUFFIX):
            continue
        if name in token_types:
            problems.append(f"the column '{name}' is not a usage field: did you mean '{meters.column(name)}'?")
        elif (close := did_you_mean(name, [*known, *(meters.column(t) for t in token_types)])) is not None:
            problems.append(f"the column '{name}' is not a usage field: {close}")
    missing = [name for name in (*REQUIRED, *REQUIRED_TOKENS) if name not in header]
    if missing:
        problems.append("it has no column " + ", ".join(missing))
    if problems:
        raise UsageFileError(f"{source}: the header cannot be billed: " + "; ".join(problems),
                             "the header needs " + ", ".join((*REQUIRED, *REQUIRED_TOKENS))
                             + ", and may have requests, request_id and other <type>_tokens columns"
                             + "".join(f", {column}" for column in (*meters.columns, *meters.variant_fields)))


def split_csv_line(text: str) -> list[str]:
    """The fields of one CSV line; `MalformedRow` when it does not parse on its own."""
    if '"' not in text:
        if "\r" in text:
            raise MalformedRow("the line contains a carriage return", "no usage field may contain a line break")
        return text.split(",")
    try:
        return next(csv.reader((text,), strict=True))
    except csv.Error as error:
        raise MalformedRow(f"the line is not valid CSV ({error})",
                           "quote a field that holds a comma or a quote, and double the quotes inside it") from None


def csv_rows(usage: UsageInput, lines: Iterable[Line], layout: CsvLayout
             ) -> Iterator[tuple[int, str | None, list[str] | None, Reject | None]]:
    """The data lines of a CSV input after its header: (line number, text, fields, None), or
    (line number, text, None, the reject it is).

    A line without quotes or carriage returns (nearly all of them) is split
    on commas directly: `split_csv_line` would give the same fields.
    """
    width = len(layout.names)
    for number, text, problem in lines:
        if text is None:
            yield number, text, None, Reject(usage.source, number, "", UnreadableLine.code, problem)
            continue
        if '"' in text or "\r" in text or not text.strip():
            if not text.strip():
                continue  # a blank line is not a record
            try:
                row = split_csv_line(text)
            except MalformedRow as error:
                yield number, text, None, Reject(usage.source, number, shown(text), error.code, error.message)
                continue
        else:
            row = text.split(",")
        if len(row) != width:
            yield number, text, None, Reject(usage.source, number, shown(text), MalformedRow.code,
                                             f"the row has {len(row)} fields, the header has {width}")
            continue
        yield number, text, row, None


def read_header(usage: UsageInput, lines: Iterator[Line]) -> list[str]:
    """The header row of a CSV input (its first line)."""
    first = next(lines, None)
    if first is None:
        raise UsageFileError(f"{usage.source}: the file is empty; a CSV usage file starts with a header row",
                             "write the header: " + ",".join((*REQUIRED, *REQUIRED_TOKENS)))
    _, text, problem = first
    if text is None:
        raise UsageFileError(f"{usage.source}:1: {problem}", "the first line must be the header row")
    try:
        return [name.strip() for name in split_csv_line(text)]
    except MalformedRow as error:
        raise UsageFileError(f"{usage.source}:1: the header is not valid CSV: {error.message}") from None


# --- JSON Lines ------------------------------------------------------------------------------------

class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise _RepeatedKey(next(k for i, (k, _) in enumerate(pairs) if any(k == j for j, _ in pairs[:i])))
    return fields


def json_record(usage: UsageInput, line: Line) -> RawRecord | Reject | None:
    """One JSON Lines line as a record or a reject (None for a blank line)."""
    number, text, problem = line
    if text is None:
        return Reject(usage.source, number, "", UnreadableLine.code, problem)
    if not text.strip():
        return None
    try:
        # numbers stay text: a float never becomes a count, and a 5,000-digit number never reaches int()
        fields = json.loads(text, parse_float=str, parse_int=str, parse_constant=str, object_pairs_hook=_object)
    except _RepeatedKey as repeated:
        return Reject(usage.source, number, shown(text), MalformedRow.code,
                      f"the record repeats the key '{repeated.key}', so it is ambiguous")
    except (ValueError, RecursionError) as error:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else "too deeply nested"
        return Reject(usage.source, number, shown(text), MalformedRow.code, f"not valid JSON: {reason}")
    if not isinstance(fields, dict):
        return Reject(usage.source, number, shown(text), MalformedRow.code, "a JSON Lines record must be an object")
    if "\\u" in text and not _encodable(fields):
        return Reject(usage.source, number, shown(text), MalformedRow.code,
                      "the record holds an unpaired \\uD800-\\uDFFF escape, which is not Unicode text")
    return RawRecord(usage.source, number, fields, text)


def _encodable(value: Any) -> bool:
    """No lone surrogate anywhere in a JSON value (json.loads lets `"\\ud800"` through)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return True
    if isinstance(value, dict):
        return all(_encodable(k) and _encodable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_encodable(item) for item in value)
    return True


# --- inputs ----------------------------------------------------------------------------------------

class UsageFiles:
    """Usage inputs, CSV or JSON Lines by their suffix (or `form`); iterating gives every record in order."""

    def __init__(self, paths: Iterable[str | Path], form: str | None = None) -> None:
        self.inputs = [UsageInput(p, form) for p in paths]

    @property
    def bytes_total(self) -> int | None:
        sizes = [usage.size for usage in self.inputs]
        return None if None in sizes else sum(sizes)

    @property
    def bytes_read(self) -> int:
        return sum(usage.bytes_read for usage in self.inputs)

    def check_headers(self, meters: UsageMeters) -> None:
        """Every CSV file's header, before any record is billed: a file that cannot be billed stops the run."""
        for usage in self.inputs:
            if usage.path is not None and usage.path.is_file() and usage.sniff() == "csv":
                usage.csv_lines(meters)[1].close()

    def __iter__(self) -> Iterator[RawRecord | Reject]:
        for usage in self.inputs:
            usage.refuse_parquet()
            if usage.sniff() == "jsonl":
                for line in usage.lines():
                    item = json_record(usage, line)
                    if item is not None:
                        yield item
                continue
            layout, lines = usage.csv_lines()
            for number, text, row, reject in csv_rows(usage, lines, layout):
                yield reject or RawRecord(usage.source, number, dict(zip(layout.names, row)), text)


def read_usage(paths: Iterable[str | Path], input_format: str | None = None) -> UsageFiles:
    """The records of usage files (`-` is standard input), streamed: unreadable lines come out as `Reject`s.

    `input_format` ("csv", "jsonl" or "parquet") overrides the suffix; standard input is sniffed when it is
    not given.
    """
    if input_format is not None and input_format not in FORMATS:
        raise UsageFileError(f"unknown usage format '{input_format}'", "use csv, jsonl or parquet")
    if isinstance(paths, (str, Path)):  # one path, not the characters of one
        paths = [paths]
    return UsageFiles(paths, input_format)


# --- fields ----------------------------------------------------------------------------------------

def token_fields(names: Iterable[str], meters: UsageMeters = NO_METERS) -> tuple[tuple[str, str], ...]:
    """The fields among `names` that count a meter, with their meters: every `<type>_tokens` (but one the book
    counts in another unit: `UsageMeters.misnamed` says why), and the book's `<meter>_<unit>` columns."""
    columns, units = meters.columns, meters.units
    found = []
    for name in names:
        meter = columns.get(name)
        if meter is None and name.endswith(TOKEN_SUFFIX) and len(name) > len(TOKEN_SUFFIX):
            meter = name[: -len(TOKEN_SUFFIX)]
            if meter in units:
                continue
        if meter is not None:
            found.append((name, meter))
    return tuple(found)


def field_text(fields_name: str, value: Any) -> str:
    """A required text field, stripped; `MissingField` when it is absent or blank."""
    text = optional_text(fields_name, value)
    if not text:
        raise MissingField(f"the record has no {fields_name}",
                           "every record needs " + ", ".join((*REQUIRED, *REQUIRED_TOKENS)))
    return text


def optional_text(fields_name: str, value: Any) -> str:
    """A text field, stripped ("" when absent). A whole number is taken as its digits; anything else (a list,
    an object, true) is not a name, and text with a lone surrogate (which no file can hold) is not text."""
    if value is None:
        return ""
    if type(value) is int:
        return str(value)
    if type(value) is not str:
        raise MalformedRow(f"{fields_name} is {type(value).__name__} {shown(repr(value), 40)}, not text",
                           f"write the {fields_name} as text")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedRow(f"{fields_name} holds a lone surrogate, which is not Unicode text",
                               "decode the text properly before billing it") from None
    return value.strip()


def check_moment(moment: datetime) -> datetime:
    """An aware moment inside the range a bill can hold."""
    if not EARLIEST <= moment < LATEST:
        raise BadTimestamp(f"timestamp {moment.isoformat()} is out of range",
                           f"timestamps are {TIME_RANGE}")
    return moment


def parse_timestamp(value: Any, assume_tz: tzinfo | None = None) -> datetime:
    """An aware datetime from ISO 8601 text (or a datetime), inside the range a bill can hold."""
    if isinstance(value, datetime):
        moment = value
    else:
        text = field_text("timestamp", value)
        if not text.isascii():
            raise BadTimestamp(f"timestamp '{text}' is not ISO 8601", "write it in ASCII digits")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadTimestamp(f"timestamp '{text}' is not ISO 8601",
                               "write 2026-05-01T10:15:00+08:00 or 2026-05-01T02:15:00Z") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        if assume_tz is None:
            raise NaiveTimestamp(f"timestamp '{value}' has no UTC offset",
                                 "add an offset such as +08:00 or Z, or pass --assume-tz")
        moment = moment.replace(tzinfo=assume_tz)
    try:
        return check_moment(moment)
    except OverflowError:  # the offset takes it past datetime's own range
        raise BadTimestamp(f"timestamp '{value}' is out of range",
                           f"timestamps are {TIME_RANGE}") from None


def parse_count(name: str, value: Any) -> int:
    """A whole number of zero or more from a field: ASCII digits (or an int), never a float, below 10**15."""
    if type(value) is str:
        text = value.strip()
        digits = text[1:] if text[:1] == "-" else text
        if not (digits.isdigit() and digits.isascii()):  # str.isdigit alone takes "²" and "٣"; int() takes "1_000"
            raise _bad_count(name, value)
        significant = digits.lstrip("0") or "0"  # int() refuses text of over 4,300 digits, zeros included
        if len(significant) > MAX_COUNT_DIGITS:
            raise _too_large(name, f"has {len(significant):,} digits")
        count = -int(significant) if text[:1] == "-" else int(significant)
    elif type(value) is int:
        count = value
        if count >= 10**MAX_COUNT_DIGITS:
            raise _too_large(name, f"is {count:.3e}")
    elif value is None:
        raise BadCount(f"{name} is null", "write the count, 0 if there were none")
    else:
        raise _bad_count(name, value)
    if count < 0:
        raise BadCount(f"{name} is negative ({count})", "counts are zero or more")
    return count


def parse_counts(names: Iterable[str], values: Iterable[Any]) -> tuple[int, ...]:
    """`parse_count` of each (field name, value); a field of 1 to 15 ASCII digits, the usual case, is read
    directly (the same answer `parse_count` gives it, at a fraction of the cost)."""
    return tuple([int(value) if type(value) is str and value.isdigit() and value.isascii()
                  and len(value) <= MAX_COUNT_DIGITS else parse_count(name, value)
                  for name, value in zip(names, values)])


def _bad_count(name: str, value: Any) -> BadCount:
    what = "a whole number of tokens" if name.endswith(TOKEN_SUFFIX) else "a whole number"
    if type(value) is str and not value.strip():
        return BadCount(f"{name} is empty", "write the count, 0 if there were none")
    return BadCount(f"{name} is '{shown(str(value), 40)}', not {what}", "counts are whole numbers of zero or more")


def _too_large(name: str, what: str) -> BadCount:
    return BadCount(f"{name} {what}, more than ratecard bills in one record",
                    f"a count is below 10**{MAX_COUNT_DIGITS} per request; split the record")


def parse_requests(value: Any) -> int:
    """How many requests a record stands for: 1 when the field is absent or empty."""
    if value is None or value == "":
        return 1
    (requests,) = parse_counts(("requests",), (value,))
    if requests < 1:
        raise BadCount("requests is 0", "a record stands for one request or more")
    if requests > MAX_REQUESTS:
        raise BadCount(f"requests is {requests:,}, more than ratecard bills in one record",
                       f"a record stands for at most {MAX_REQUESTS:,} requests; split it")
    return requests
