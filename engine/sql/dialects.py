"""The rating query in other warehouses' SQL.

Takes the DuckDB SQL of `query.py` and gives the same query in another
dialect (Spark, StarRocks, PostgreSQL, ... any that sqlglot writes), from one
representation: sqlglot parses the DuckDB text into its syntax tree once and
writes that tree in the target dialect. Nothing here is written per dialect.
"""

from __future__ import annotations

import logging

import sqlglot
from sqlglot import exp

from .query import SqlUnsupported

#: The dialects the CLI offers; any other sqlglot dialect name works through the API.
DIALECTS = ("duckdb", "spark", "databricks", "starrocks", "postgres", "snowflake", "bigquery", "clickhouse")


def to_dialect(sql: str, dialect: str, pretty: bool = True) -> str:
    """`sql` (DuckDB, one or more statements) written in `dialect`; `SqlUnsupported` when sqlglot can write it
    there only with floating point (Trino's integer division, for one), which would not be exact."""
    # sqlglot warns where a dialect has no NULLS LAST in a window; every ORDER BY of the query is over
    # columns that are never NULL, so the order is the same without it
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    statements = sqlglot.parse(sql, read="duckdb")
    written = [statement.sql(dialect=dialect, pretty=pretty) for statement in statements if statement]
    if dialect != "duckdb":
        for text in written:
            floats = {kind.sql(dialect=dialect) for kind in sqlglot.parse_one(text, read=dialect).find_all(exp.DataType)
                      if kind.is_type(*exp.DataType.FLOAT_TYPES)}
            if floats:
                raise SqlUnsupported(f"sqlglot writes this query in {dialect} with {', '.join(sorted(floats))} "
                                     "arithmetic, which is not exact", "use another dialect, such as "
                                     + ", ".join(d for d in DIALECTS if d != dialect))
    return ";\n\n".join(written)
