"""SQL results to a `Bill`: what the SQL engines share that is not SQL.

Takes the rows of a rating query (`query.py`), as DuckDB or Spark give them:
bill lines in bill order, each account's exact totals, the rejected records
with their codes and raw fields; and gives the `Bill` the Python engine
gives for the same usage:

- lines become `BillLine`s with their offer and tier, each account's
  rounding allocated by `billing.allocate` (the Python engine's own), and
  are read from the engine as they are iterated, so a bill's memory does
  not follow its number of lines;
- a rejected record's reason is the reference engine's: the record's raw
  fields go through `rating.Rater.rate_fields` again, which must fail with
  the code the SQL found. A disagreement is an `EngineMismatch` (a bug in
  one engine), never a bill;
- each line's amount is checked against the SQL's `DECIMAL` amount as it is
  read, with the same consequence.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TextIO

from ..billing import (
    AccountQuota,
    Bill,
    BillLine,
    LineContext,
    QuotaLedger,
    RecordRejected,
    Totals,
    account_totals,
    allocate,
    bill_totals,
    duplicate_request,
    line_context,
    reject_of,
)
from ..errors import PricingError, RatecardError, RecordError
from ..moments import from_instant
from ..rating import Rater, TokenColumns
from ..records import DuplicateRequest, Reject
from ..tables import NO_PRICES, PriceBook, resolve_region
from .query import LINE_ORDER, RatingQuery

#: The columns a line row has, in this order.
LINE_SELECT = "account, cycle, offer_id, tier_id, token_type, kind, quantity, amount"
_CHUNK = 8192


class EngineMismatch(RatecardError):
    """A SQL engine and the Python engine disagree about a record or a line: a bug, reported as one."""

    code = "E401"


class SqlLines(Sequence[BillLine]):
    """A bill's lines, read from a SQL engine each time they are iterated, one account at a time."""

    def __init__(self, rows: Callable[[], Iterable[tuple]], count: int, book: PriceBook, query: RatingQuery,
                 currency: str, close: Callable[[], None] = lambda: None,
                 write_csv: Callable[[TextIO], None] | None = None) -> None:
        self._rows = rows
        self.write_csv = write_csv  # an engine's own writer of `writers.csv_chunks`' text, when it has one
        self._count = count
        self._book = book
        self._query = query
        self._context = line_context(book, currency)
        self.close = close

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(itertools.islice(iter(self), *index.indices(self._count)))
        if not -self._count <= index < self._count:
            raise IndexError(index)
        return next(itertools.islice(iter(self), index % self._count, None))

    def __iter__(self) -> Iterator[BillLine]:
        book, context = self._book, self._context
        for _, rows in itertools.groupby(self._rows(), key=_account_of):
            lines = [_line(book, self._query, context, row) for row in rows]
            yield from allocate(book, context.currency, lines)[0]


def _account_of(row: tuple) -> str:
    return row[0]


def _line(book: PriceBook, query: RatingQuery, context: LineContext, row: tuple) -> BillLine:
    account, cycle, offer_id, tier_id, token_type, kind, quantity, amount = row
    tier = query.tiers[tier_id]
    line = BillLine(_cycle_start(cycle, book), account, query.offers[offer_id], tier, token_type, kind,
                    int(quantity), tier.prices.get(context.currency, NO_PRICES).get(token_type), context)
    if line.amount != amount:
        raise EngineMismatch(f"the SQL amount of a line differs from the Python engine's ({amount} against "
                             f"{line.amount}, {line!r})", "this is a bug in ratecard: please report it")
    return line


_cycles: dict[tuple[int, object], datetime] = {}


def _cycle_start(cycle: int, book: PriceBook) -> datetime:
    key = (cycle, book.zone)
    start = _cycles.get(key)
    if start is None:
        if len(_cycles) > 100_000:
            _cycles.clear()
        start = _cycles[key] = datetime.fromtimestamp(cycle, book.zone)
    return start


def engine_bill(book: PriceBook, rater: Rater, query: RatingQuery, run: Callable[[str], Iterable[tuple]],
                on_reject: Callable[[Reject], None] | None, strict: bool, close: Callable[[], None],
                write_csv: Callable[[TextIO], None] | None = None) -> Bill:
    """The `Bill` of a SQL engine that holds the relations `ratecard_usage`, `rated` and `bill_lines`;
    `run(sql)` gives the rows of a query written in DuckDB's dialect (the engine writes it in its own)."""
    currency = rater.currency
    kept: list[Reject] = []
    rejected = 0
    for reject in finish_rejects(run(rejects_sql(query)), rater, query):
        rejected += 1
        if strict:
            raise RecordRejected(reject)
        (on_reject or kept.append)(reject)
    ((read,),) = run("SELECT count(*) FROM ratecard_usage")
    accounts = accounts_of(book, currency, run(ACCOUNTS_SQL))
    ledger = ledger_of(book, run(FIRST_USE_SQL), run(CONSUMED_SQL))
    ((count,),) = run("SELECT count(*) FROM bill_lines")
    lines = SqlLines(lambda: run(f"SELECT {LINE_SELECT} FROM bill_lines ORDER BY {LINE_ORDER}"), count, book, query,
                     currency, close, write_csv)
    return Bill(book.name, currency, lines, {currency: bill_totals(book, currency, accounts)}, accounts, read,
                read - rejected, rejected, tuple(kept), ledger)


def rejects_sql(query: RatingQuery) -> str:
    """The rejected records with their raw fields, in the order they were read."""
    raw = ", ".join([*(f'u."{name}"' for name in query.usage_fields), *(f"u.{c.column}" for c in query.read_columns)])
    return (f"SELECT r.file_index, r.source, r.line, r.record, r.code, r.pre_reason, {raw} FROM rated AS r "
            "JOIN ratecard_usage AS u ON u.file_index = r.file_index AND u.line = r.line "
            "WHERE r.code IS NOT NULL ORDER BY r.file_index, r.line")


def lookups(rater: Rater, query: RatingQuery, run: Callable[[str], Iterable[tuple]]) -> tuple[dict, dict]:
    """The columns of `region_names` (each distinct region text of the usage that names a region, and its ID)
    and of `odd_timestamps` (each timestamp text the SQL leaves to Python: its instant, or its reject code),
    resolved by the Python engine."""
    names: dict[str, list] = {"text": [], "region_id": []}
    for (text,) in run(query.region_texts_sql):
        try:
            region = resolve_region(rater.book, text)
        except PricingError:
            continue
        names["text"].append(text)
        names["region_id"].append(region)
    odd: dict[str, list] = {"text": [], "instant": [], "code": []}
    for (text,) in run(query.odd_timestamps_sql):
        try:
            instant, code = rater.instant_of_text(text), None
        except RecordError as error:
            instant, code = None, error.code
        odd["text"].append(text)
        odd["instant"].append(instant)
        odd["code"].append(code)
    return names, odd


def chunked(fetchmany: Callable[[int], list]) -> Iterator[tuple]:
    """Rows from a cursor's `fetchmany`, a chunk at a time."""
    while rows := fetchmany(_CHUNK):
        yield from rows


def accounts_of(book: PriceBook, currency: str, rows: Iterable[tuple]) -> dict[str, Totals]:
    """Each account's totals from (account, exact list amount, exact credits) rows, in account order."""
    return {account: account_totals(book, currency, Decimal(listed or 0), Decimal(credited or 0))
            for account, listed, credited in rows}


ACCOUNTS_SQL = ("SELECT account, sum(CASE WHEN kind = 'usage' THEN amount END), "
                "sum(CASE WHEN kind <> 'usage' THEN amount END) FROM bill_lines GROUP BY account ORDER BY account")
#: The two queries `ledger_of` reads: each billed account's first use, and the free tokens it consumed.
FIRST_USE_SQL = "SELECT account, min(instant) FROM rated WHERE code IS NULL GROUP BY account"
CONSUMED_SQL = "SELECT account, sum(quantity) FROM bill_lines WHERE kind = 'quota' GROUP BY account"


def ledger_of(book: PriceBook, first_use: Iterable[tuple], consumed: Iterable[tuple]) -> QuotaLedger:
    """The quota ledger from (account, instant of first use) and (account, free tokens consumed) rows."""
    if book.quota is None:
        return QuotaLedger()
    used = {account: int(tokens) for account, tokens in consumed}
    return QuotaLedger({account: AccountQuota(from_instant(first, book.zone), used.get(account, 0))
                        for account, first in first_use})


def finish_rejects(rows: Iterable[tuple], rater: Rater, query: RatingQuery) -> Iterator[Reject]:
    """Rejects with the Python engine's reasons, from rows of (file_index, source, line, record, code,
    reader's reason, timestamp, account, region, model, requests, request_id, token values...)."""
    columns = TokenColumns.of(tuple(c.token_type for c in query.read_columns), False, rater.meters)
    texts = len(query.usage_fields)  # the record's text fields, then the variant fields; then the counts
    for row in rows:
        _, source, line, record, code, reason, *fields = row
        request_id, values = fields[5], fields[texts:]
        if reason is not None:  # the reader's own reject: a line that is no record, or one Python already refused
            yield Reject(source, line, record, code, reason)
            continue
        error = _python_error(rater, columns, fields[:6], values, fields[6:texts])
        if code == DuplicateRequest.code and error is None:
            error = duplicate_request((request_id or "").strip())
        if error is None or error.code != code:
            found = "takes it" if error is None else f"rejects it as {error.code}"
            raise EngineMismatch(f"{source}:{line}: SQL rejects the record as {code}, the Python engine {found}",
                                 "this is a bug in ratecard: please report it")
        yield reject_of(error, source, line, record)


def _python_error(rater: Rater, columns: TokenColumns, fields: Sequence, values: Sequence,
                  variant: Sequence = ()) -> RatecardError | None:
    timestamp, account, region, model, requests, request_id = fields
    try:
        rater.rate_fields(timestamp, account, region, model, columns, list(values), requests, request_id, variant)
    except (RecordError, PricingError) as error:
        return error
    return None
