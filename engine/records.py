"""Usage records: reading and validating them.

Takes usage files (CSV with a header row, or JSON Lines) or dicts, and gives
validated `UsageRecord`s, streaming: one record in memory at a time. A record
that cannot be read or is malformed becomes a `Reject` carrying its source
file, line number, original text and the reason; nothing is dropped silently.

Fields: `timestamp` (ISO 8601 with an offset or `Z`), `account`, `region` (ID or
display name), `model`, `input_tokens`, `output_tokens`, optional `requests`
(default 1), optional `<type>_tokens` for other token types, optional
`request_id`. Token counts are per request.
"""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

import attrs

from .errors import RecordError

REQUIRED = ("timestamp", "account", "region", "model")
_WHOLE_NUMBER = re.compile(r"\s*-?[0-9]+\s*")  # ASCII digits only: int() would also take "٣" and "1_000"
TOKEN_SUFFIX = "_tokens"


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


@attrs.frozen(slots=True)
class UsageRecord:
    timestamp: datetime  # aware
    account: str
    region: str  # as written: an ID or a display name
    model: str
    tokens: tuple[tuple[str, int], ...]  # (token type, tokens per request)
    requests: int = 1
    request_id: str = ""


class Reject(NamedTuple):
    """A record that was read but not billed, and why."""

    source: str
    line: int
    record: str  # the original row or line, as text
    code: str
    reason: str


class RawRecord(NamedTuple):
    source: str
    line: int
    fields: Mapping[str, Any]
    text: str | None  # the original text when cheap to keep (JSON Lines); else rebuilt on demand
    token_fields: tuple[tuple[str, str], ...] | None = None  # (field, token type); None: find them per record

    def original(self) -> str:
        return self.text if self.text is not None else csv_text(self.fields.values())


def csv_text(values: Iterable[Any]) -> str:
    """One CSV row as text, quoted as a CSV writer would: how a rejected row is shown."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(str(v) for v in values)
    return out.getvalue()


class CsvUsage:
    """A CSV usage file with a header row, read lazily.

    Iterating gives `RawRecord`s (and `Reject`s for rows of the wrong width);
    `open()` gives the header and the raw row reader, for the biller's fast path.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(path)

    @contextmanager
    def open(self) -> Iterator[tuple[list[str], Any]]:
        with open(self.path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            yield header, reader

    def width_reject(self, line: int, row: list[str], width: int) -> Reject:
        return Reject(self.source, line, csv_text(row), MalformedRow.code,
                      f"the row has {len(row)} fields, the header has {width}")

    def header_problem(self, header: list[str]) -> str | None:
        """Why the header makes every row unreadable, or None."""
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            return f"the header repeats the column {', '.join(repeated)}, so its rows are ambiguous"
        return None

    def __iter__(self) -> Iterator[RawRecord | Reject]:
        with self.open() as (header, reader):
            yield from self.records(header, reader)

    def records(self, header: list[str], reader: Any) -> Iterator[RawRecord | Reject]:
        """The rows of an opened file (see `open`) as records; blank rows are not records."""
        width = len(header)
        tokens = token_fields(header)
        problem = self.header_problem(header)
        for row in reader:
            if problem and row:
                yield Reject(self.source, reader.line_num, csv_text(row), MalformedRow.code, problem)
            elif len(row) == width:
                yield RawRecord(self.source, reader.line_num, dict(zip(header, row)), None, tokens)
            elif row:
                yield self.width_reject(reader.line_num, row, width)


class JsonLinesUsage:
    """A JSON Lines usage file: one JSON object per line."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.source = str(path)

    def __iter__(self) -> Iterator[RawRecord | Reject]:
        return _read_json_lines(self.path)


class UsageFiles:
    """Usage files, CSV or JSON Lines by their suffix; iterating gives every record of every file in order."""

    def __init__(self, paths: Iterable[str | Path]) -> None:
        self.files = [JsonLinesUsage(p) if Path(p).suffix in (".jsonl", ".ndjson", ".json") else CsvUsage(p)
                      for p in paths]

    def __iter__(self) -> Iterator[RawRecord | Reject]:
        for usage_file in self.files:
            yield from usage_file


def read_usage(paths: Iterable[str | Path]) -> UsageFiles:
    """The records of usage files, streamed: unreadable rows come out as `Reject`s."""
    return UsageFiles(paths)


def _read_json_lines(path: Path) -> Iterator[RawRecord | Reject]:
    source = str(path)
    with open(path, encoding="utf-8-sig") as handle:
        for number, text in enumerate(handle, start=1):
            text = text.rstrip("\r\n")
            if not text.strip():
                continue
            try:
                fields = json.loads(text, parse_float=str)
            except json.JSONDecodeError as error:
                yield Reject(source, number, text, MalformedRow.code, f"not valid JSON: {error.msg}")
                continue
            if not isinstance(fields, dict):
                yield Reject(source, number, text, MalformedRow.code, "a JSON Lines record must be an object")
                continue
            yield RawRecord(source, number, fields, text)


def token_fields(names: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """The `<type>_tokens` fields among `names`, with their token types."""
    return tuple((name, name[: -len(TOKEN_SUFFIX)]) for name in names if name.endswith(TOKEN_SUFFIX))


def parse_timestamp(value: Any, assume_tz: tzinfo | None = None) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise BadTimestamp(f"timestamp '{text}' is not ISO 8601",
                               "write 2026-05-01T10:15:00+08:00 or 2026-05-01T02:15:00Z") from None
    if moment.tzinfo is None:
        if assume_tz is None:
            raise NaiveTimestamp(f"timestamp '{value}' has no UTC offset",
                                 "add an offset such as +08:00 or Z, or pass --assume-tz")
        moment = moment.replace(tzinfo=assume_tz)
    return moment


def parse_count(name: str, value: Any) -> int:
    """A non-negative whole number from a field (text digits or an int; never a float)."""
    if type(value) is int:
        count = value
    elif isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value):
        count = int(value)
    else:
        raise BadCount(f"{name} is '{value}', not a whole number of tokens" if name.endswith(TOKEN_SUFFIX)
                       else f"{name} is '{value}', not a whole number",
                       "counts are whole numbers of zero or more")
    if count < 0:
        raise BadCount(f"{name} is negative ({count})", "counts are zero or more")
    return count


def _checked(record: UsageRecord, assume_tz: tzinfo | None) -> UsageRecord:
    """A caller's own `UsageRecord`, held to the same rules as a row of a file."""
    fields = {"timestamp": record.timestamp, "account": record.account, "region": record.region,
              "model": record.model, "requests": record.requests, "request_id": record.request_id}
    fields.update({f"{token_type}{TOKEN_SUFFIX}": count for token_type, count in record.tokens})
    return to_record(fields, assume_tz)


def required_text(fields: Mapping[str, Any], name: str) -> str:
    value = fields.get(name)
    text = "" if value is None else str(value).strip()
    if not text:
        raise MissingField(f"the record has no {name}", f"every record needs {', '.join(REQUIRED)}")
    return text


def parse_requests(value: Any) -> int:
    if value is None or value == "":
        return 1
    requests = parse_count("requests", value)
    if requests < 1:
        raise BadCount("requests is 0", "a record stands for one request or more")
    return requests


def parse_tokens(fields: Mapping[str, Any], token_fields_: Iterable[tuple[str, str]] | None = None
                 ) -> tuple[tuple[str, int], ...]:
    """(token type, count per request) for every non-empty `<type>_tokens` field."""
    pairs = token_fields(fields) if token_fields_ is None else token_fields_
    tokens = []
    for name, token_type in pairs:
        value = fields.get(name)
        if value is not None and value != "":
            tokens.append((token_type, parse_count(name, value)))
    return tuple(tokens)


def to_record(fields: Mapping[str, Any], assume_tz: tzinfo | None = None,
              token_fields_: Iterable[tuple[str, str]] | None = None) -> UsageRecord:
    """Validate one record's fields (from a file or a caller's dict); a `UsageRecord` is checked as it is."""
    if isinstance(fields, UsageRecord):
        return _checked(fields, assume_tz)
    account, region, model = (required_text(fields, name) for name in ("account", "region", "model"))
    stamp = fields.get("timestamp")
    stamp = stamp if isinstance(stamp, datetime) else required_text(fields, "timestamp")
    return UsageRecord(parse_timestamp(stamp, assume_tz), account, region, model,
                       parse_tokens(fields, token_fields_), parse_requests(fields.get("requests")),
                       str(fields.get("request_id") or ""))
