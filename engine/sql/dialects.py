"""The rating query in other warehouses' SQL.

Takes the DuckDB SQL of `query.py` and gives the same query in another
dialect (Spark, StarRocks, PostgreSQL, ... any that sqlglot writes), from one
representation: sqlglot parses the DuckDB text into its syntax tree once and
writes that tree in the target dialect. Nothing here is written per dialect.
"""

from __future__ import annotations

import logging

import sqlglot

#: The dialects the CLI offers; any other sqlglot dialect name works through the API.
DIALECTS = ("duckdb", "spark", "databricks", "starrocks", "postgres", "snowflake", "bigquery", "trino", "clickhouse")


def to_dialect(sql: str, dialect: str, pretty: bool = True) -> str:
    """`sql` (DuckDB, one or more statements) written in `dialect`."""
    # sqlglot warns where a dialect has no NULLS LAST in a window; every ORDER BY of the query is over
    # columns that are never NULL, so the order is the same without it
    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    statements = sqlglot.parse(sql, read="duckdb")
    return ";\n\n".join(statement.sql(dialect=dialect, pretty=pretty) for statement in statements if statement)
