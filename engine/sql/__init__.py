"""Price books compiled to SQL, and the engines that run it.

`compile_query(book, currency, ...)` (`query.py`) gives the rating query of a
compiled `PriceBook` as DuckDB SQL; `to_dialect(sql, dialect)` (`dialects.py`)
writes it for another warehouse through sqlglot; `bill(book, paths, ...)`
(`duck.py`) bills usage files on an embedded DuckDB, and `ratecard.spark`
bills a Spark DataFrame with the same query. Every one of them gives the
Python engine's bill, line for line; a construct they cannot bill exactly is
a `SqlUnsupported` error naming it.

Needs the `sql` extra (`pip install 'ratecard[sql]'`): DuckDB, sqlglot and
pyarrow are imported only when these functions run, never by `import ratecard`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .query import RatingQuery, SqlUnsupported, compile_query

if TYPE_CHECKING:
    from ..billing import Bill
    from ..tables import PriceBook

__all__ = ["RatingQuery", "SqlUnsupported", "bill", "compile_query", "to_dialect"]


def bill(book: PriceBook, paths, currency: str | None = None, input_format: str | None = None, **options) -> Bill:
    """Bill usage files (CSV, JSON Lines, Parquet; `-` is standard input) on DuckDB: `billing.bill`'s bill."""
    from ..records import read_usage
    from .duck import bill as duck_bill
    return duck_bill(book, read_usage(paths, input_format), currency, **options)


def to_dialect(sql: str, dialect: str) -> str:
    """DuckDB SQL written in another dialect (`spark`, `starrocks`, `postgres`, ...) by sqlglot."""
    from .dialects import to_dialect as convert
    return convert(sql, dialect)
