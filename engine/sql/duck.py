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
from collections.abc import Callable, Iterable
from datetime import tzinfo
from typing import TextIO

import duckdb
import pyarrow as pa

from ..billing import Bill
from ..rating import Rater
from ..records import Reject, UsageFiles
from ..tables import PriceBook
from . import csvout
from .bills import chunked, engine_bill, lookups
from .inputs import UsageTable
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
    except duckdb.Error as error:  # a memory limit DuckDB does not take
        shutil.rmtree(workdir, ignore_errors=True)
        raise SqlUnsupported(f"DuckDB does not take the memory limit {memory_limit!r}: {str(error).splitlines()[0]}",
                             "give a size such as 512MB or 4GB") from None
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    closer = _Closer(con, workdir)
    try:
        return _Run(book, rater, con, closer).bill(files, assume_tz, on_reject, strict)
    except duckdb.OutOfMemoryException as error:
        closer()
        raise SqlUnsupported(f"DuckDB ran out of memory at its limit of {memory_limit}: "
                             f"{str(error).splitlines()[0]}", "pass a larger --memory-limit (or RATECARD_DUCKDB_MEMORY)"
                             ", such as 1GB") from None
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
        for name, columns in zip(("region_names", "odd_timestamps"), lookups(self.rater, query, self.run)):
            self._table(name, columns)
        con.execute(f"CREATE TABLE rated AS {query.rated}")
        con.execute(f"CREATE TABLE bill_lines AS {query.lines}")

        def write_csv(handle: TextIO) -> None:
            csvout.write_csv(self.con, book, query, currency, handle, self.closer.workdir)
        result = engine_bill(book, self.rater, query, self.run, on_reject, strict, self.closer, write_csv)
        weakref.finalize(result.lines, self.closer)
        return result

    def run(self, sql: str) -> Iterable[tuple]:
        return chunked(self.con.cursor().execute(sql).fetchmany)

    def _table(self, name: str, columns: dict) -> None:
        columns = {key: pa.array(values, pa.int64() if key == "instant" else pa.string())
                   for key, values in columns.items()}
        self.con.register(f"{name}_rows", pa.table(columns))
        self.con.execute(f"CREATE TABLE {name} AS SELECT * FROM {name}_rows")
        self.con.unregister(f"{name}_rows")
