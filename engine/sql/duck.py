"""Bills on DuckDB: usage files billed by the compiled rating query in an embedded database.

Takes a `PriceBook`, usage files (CSV, JSON Lines, Parquet) and the options
of `billing.bill`, and gives the same `Bill`, line for line and digit for
digit. The usage is loaded into a DuckDB database file in a private temporary
directory (`inputs.py`), rated there by `query.py`'s SQL, and the bill's
lines are read back one account at a time while they are written
(`bills.py`). DuckDB runs with a memory limit and spills to that directory,
so the size of the input is bounded by the disk, not the memory.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from datetime import tzinfo
from typing import Callable, Iterable, TextIO

import duckdb
import pyarrow as pa

from ..billing import Bill, RecordRejected, bill_totals
from ..errors import PricingError, RecordError
from ..rating import Rater
from ..records import Reject, UsageFiles
from ..tables import PriceBook, resolve_region
from .bills import (
    CONSUMED_SQL,
    FIRST_USE_SQL,
    LINE_ORDER,
    LINE_SELECT,
    SqlLines,
    accounts_of,
    chunked,
    finish_rejects,
    ledger_of,
)
from . import csvout
from .inputs import FIELDS, UsageTable
from .query import SqlUnsupported, compile_query, offset_seconds

MEMORY_LIMIT = os.environ.get("RATECARD_DUCKDB_MEMORY", "1GB")


def bill(book: PriceBook, files: UsageFiles, currency: str | None = None, assume_tz: tzinfo | None = None,
         on_reject: Callable[[Reject], None] | None = None, strict: bool = False,
         memory_limit: str = MEMORY_LIMIT, threads: int | None = None) -> Bill:
    """Bill usage files on DuckDB. Arguments as `billing.bill`; `memory_limit` bounds DuckDB's memory."""
    rater = Rater(book, currency, assume_tz)
    workdir = tempfile.mkdtemp(prefix="ratecard-duckdb-")
    try:
        con = _connect(workdir, memory_limit, threads)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    closer = _Closer(con, workdir)
    try:
        return _Run(book, rater, con, closer).bill(files, assume_tz, on_reject, strict)
    except duckdb.OutOfRangeException as error:  # a sum of tokens or money past DECIMAL(38)'s digits
        closer()
        raise SqlUnsupported(f"a quantity or an amount of this bill does not fit DuckDB's DECIMAL(38): "
                             f"{str(error).splitlines()[0]}", "bill it with --engine python, which has no such "
                             "limit, or bill fewer records at a time") from None
    except BaseException:
        closer()
        raise


class _Closer:
    """Closes the connection and removes the database once the bill's lines are no longer read."""

    def __init__(self, con, workdir: str) -> None:
        self.con, self.workdir = con, workdir

    def __call__(self) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None
            shutil.rmtree(self.workdir, ignore_errors=True)


def _connect(workdir: str, memory_limit: str, threads: int | None):
    config = {"memory_limit": memory_limit, "temp_directory": workdir, "preserve_insertion_order": False}
    if threads:
        config["threads"] = threads
    con = duckdb.connect(os.path.join(workdir, "bill.duckdb"), config=config)
    con.execute("SET TimeZone = 'UTC'")
    return con


class _Run:
    def __init__(self, book: PriceBook, rater: Rater, con, closer: _Closer) -> None:
        self.book, self.rater, self.con, self.closer = book, rater, con, closer

    def bill(self, files: UsageFiles, assume_tz: tzinfo | None, on_reject, strict: bool) -> Bill:
        book, con, currency = self.book, self.con, self.rater.currency
        usage = UsageTable(con, self.rater)
        usage.add(files)
        query = compile_query(book, currency, usage.token_types, offset_seconds(assume_tz), "region_names",
                              "odd_timestamps")
        self._lookups(query)
        con.execute(f"CREATE TABLE rated AS {query.rated}")
        kept: list[Reject] = []
        rejected = 0
        for reject in finish_rejects(chunked(con.execute(self._rejects_sql(query)).fetchmany), self.rater, query):
            rejected += 1
            if strict:
                raise RecordRejected(reject)
            (on_reject or kept.append)(reject)
        (read,) = con.execute("SELECT count(*) FROM ratecard_usage").fetchone()
        con.execute(f"CREATE TABLE bill_lines AS {query.lines}")
        accounts = accounts_of(book, currency, con.execute(
            "SELECT account, sum(CASE WHEN kind = 'usage' THEN amount END), "
            "sum(CASE WHEN kind <> 'usage' THEN amount END) FROM bill_lines GROUP BY account ORDER BY account"
        ).fetchall())
        ledger = ledger_of(book, con.execute(FIRST_USE_SQL).fetchall(), con.execute(CONSUMED_SQL).fetchall())
        (count,) = con.execute("SELECT count(*) FROM bill_lines").fetchone()

        def rows() -> Iterable[tuple]:
            cursor = self.con.cursor()
            return chunked(cursor.execute(
                f"SELECT {LINE_SELECT} FROM bill_lines ORDER BY {LINE_ORDER}").fetchmany)
        def write_csv(handle: TextIO) -> None:
            csvout.write_csv(self.con, book, query, currency, handle, self.closer.workdir)
        lines = SqlLines(rows, count, book, query, currency, self.closer, write_csv)
        result = Bill(book.name, currency, lines, {currency: bill_totals(book, currency, accounts)}, accounts,
                      read, read - rejected, rejected, tuple(kept), ledger)
        weakref.finalize(lines, self.closer)
        return result

    def _lookups(self, query) -> None:
        """The distinct region texts and odd timestamp texts of the usage, resolved by the Python engine."""
        names, ids = [], []
        for (text,) in self.con.execute(query.region_texts_sql).fetchall():
            try:
                ids.append(resolve_region(self.book, text))
            except PricingError:
                continue
            names.append(text)
        self._table("region_names", {"text": pa.array(names, pa.string()), "region_id": pa.array(ids, pa.string())})
        texts, instants, codes = [], [], []
        for (text,) in self.con.execute(query.odd_timestamps_sql).fetchall():
            texts.append(text)
            try:
                instants.append(self.rater.instant_of_text(text)), codes.append(None)
            except RecordError as error:
                instants.append(None), codes.append(error.code)
        self._table("odd_timestamps", {"text": pa.array(texts, pa.string()), "instant": pa.array(instants, pa.int64()),
                                       "code": pa.array(codes, pa.string())})

    def _table(self, name: str, columns: dict) -> None:
        self.con.register(f"{name}_rows", pa.table(columns))
        self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_rows")
        self.con.unregister(f"{name}_rows")

    @staticmethod
    def _rejects_sql(query) -> str:
        raw = ", ".join([*(f'u."{name}"' for name in FIELDS), *(f"u.{c.column}" for c in query.columns)])
        return (f"SELECT r.file_index, r.source, r.line, r.record, r.code, r.pre_reason, {raw} FROM rated AS r "
                "JOIN ratecard_usage AS u ON u.file_index = r.file_index AND u.line = r.line "
                "WHERE r.code IS NOT NULL ORDER BY r.file_index, r.line")
