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
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

import attrs

from .errors import RecordError

REQUIRED = ("timestamp", "account", "region", "model")
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

    def original(self) -> str:
        if self.text is not None:
            return self.text
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(str(v) for v in self.fields.values())
        return out.getvalue()


def read_usage(paths: Iterable[str | Path]) -> Iterator[RawRecord | Reject]:
    """Every record of every file, in file order; unreadable rows come out as `Reject`s."""
    for path in paths:
        path = Path(path)
        if path.suffix in (".jsonl", ".ndjson", ".json"):
            yield from _read_json_lines(path)
        else:
            yield from _read_csv(path)


def _read_csv(path: Path) -> Iterator[RawRecord | Reject]:
    source = str(path)
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            return
        header = [name.strip() for name in header]
        width = len(header)
        for row in reader:
            if len(row) != width:
                if not row:
                    continue
                text = ",".join(row)
                yield Reject(source, reader.line_num, text, MalformedRow.code,
                             f"the row has {len(row)} fields, the header has {width}")
                continue
            yield RawRecord(source, reader.line_num, dict(zip(header, row)), None)


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
    elif isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
        count = int(value)
    else:
        raise BadCount(f"{name} is '{value}', not a whole number of tokens" if name.endswith(TOKEN_SUFFIX)
                       else f"{name} is '{value}', not a whole number",
                       "counts are whole numbers of zero or more")
    if count < 0:
        raise BadCount(f"{name} is negative ({count})", "counts are zero or more")
    return count


def to_record(fields: Mapping[str, Any], assume_tz: tzinfo | None = None) -> UsageRecord:
    """Validate one record's fields (from a file or a caller's dict)."""
    if isinstance(fields, UsageRecord):
        return fields
    for name in REQUIRED:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingField(f"the record has no {name}", f"every record needs {', '.join(REQUIRED)}")
    tokens = []
    for name, value in fields.items():
        if name.endswith(TOKEN_SUFFIX):
            if value is None or value == "":
                continue
            tokens.append((name[: -len(TOKEN_SUFFIX)], parse_count(name, value)))
    requests_value = fields.get("requests")
    requests = 1 if requests_value in (None, "") else parse_count("requests", requests_value)
    if requests < 1:
        raise BadCount("requests is 0", "a record stands for one request or more")
    return UsageRecord(parse_timestamp(fields["timestamp"], assume_tz), str(fields["account"]).strip(),
                       str(fields["region"]).strip(), str(fields["model"]).strip(), tuple(tokens), requests,
                       str(fields.get("request_id") or ""))
