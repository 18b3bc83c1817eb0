"""Bills on Spark: the compiled rating query run on a Spark session.

Takes a `PriceBook` and usage as a Spark DataFrame (or a table's name) with
the documented usage columns, and gives the bill lines and the rejected
records as DataFrames (`rate`), or the whole `Bill` the Python engine gives
(`bill`), line for line. The query is `ratecard.sql`'s, written in Spark SQL
by sqlglot: nothing here is a second rating.

Spark must compute exactly as DuckDB and Python do, so while a query runs
the session is set to ANSI mode (an overflow is an error, never NULL),
without decimal precision loss, and in UTC; the settings are put back after.

Needs the `spark` extra (`pip install 'ratecard[spark]'`): PySpark with a Java
runtime. `bill_files` also needs the `sql` extra: usage files are read by
ratecard's own reader (as `--engine duckdb` reads them), then billed on Spark.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from datetime import tzinfo

import attrs
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from .billing import Bill
from .errors import PricingError
from .rating import Rater
from .records import UsageMeters, check_header, read_usage, token_fields
from .sql.bills import engine_bill, lookups
from .sql.dialects import to_dialect
from .sql.query import USAGE_FIELDS as FIELDS
from .sql.query import RatingQuery, SqlUnsupported, compile_query, default_token_types, offset_seconds
from .tables import PriceBook

#: Session settings the query needs to be exact; put back when it is done.
EXACT_SETTINGS = {
    "spark.sql.ansi.enabled": "true",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.session.timeZone": "UTC",
}


@attrs.frozen
class SparkRating:
    """A book's rating of Spark usage: the bill lines and the rejected records, as DataFrames."""

    lines: DataFrame  # account, cycle, offer_id, tier_id, region, model, token_type, kind, quantity, unit_price,
    # amount (DECIMAL), and the order columns tier_rank, position, kind_order
    rejects: DataFrame  # file_index, source, line, record, code, pre_reason
    rated: DataFrame
    query: RatingQuery


@contextlib.contextmanager
def exact_session(spark: SparkSession) -> Iterator[SparkSession]:
    """The session with `EXACT_SETTINGS` while the block runs."""
    before = {key: spark.conf.get(key, None) for key in EXACT_SETTINGS}
    for key, value in EXACT_SETTINGS.items():
        spark.conf.set(key, value)
    try:
        yield spark
    finally:
        for key, value in before.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def rate(book: PriceBook, usage: DataFrame | str, spark: SparkSession | None = None, currency: str | None = None,
         assume_tz: tzinfo | None = None, token_types: tuple[str, ...] | None = None) -> SparkRating:
    """Rate usage on Spark: a DataFrame (or a table's name) with the usage columns, as text, integers or
    timestamps. Optional columns `source` and `line` name where each record came from (else the table and
    the DataFrame's row order). Run it within `exact_session` (as `bill` does)."""
    spark = spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    loose = {key: spark.conf.get(key, None) for key, value in EXACT_SETTINGS.items()
             if (spark.conf.get(key, None) or "").lower() != value.lower()}
    if loose:
        raise SqlUnsupported(f"the Spark session is not set to bill exactly ({', '.join(sorted(loose))})",
                             "rate inside `with ratecard.spark.exact_session(spark):`")
    rater = Rater(book, currency, assume_tz)
    frame = spark.table(usage) if isinstance(usage, str) else usage
    if "pre_code" not in frame.columns:
        token_types = _token_types_of(book, frame.columns)
        frame = _usage_relation(book, frame, usage if isinstance(usage, str) else "<dataframe>", token_types)
    elif token_types is None:
        raise PricingError("a usage relation of ratecard's own needs its token types",
                           "pass token_types=, or the usage columns (input_tokens, ...)")
    query = compile_query(book, rater.currency, token_types, offset_seconds(assume_tz), "region_names", "odd_timestamps")
    frame.createOrReplaceTempView("ratecard_usage")
    _lookups(spark, rater, query)
    # each stage is read more than once: checkpointed, so that no later query computes it again
    rated = spark.sql(to_dialect(query.rated, "spark", pretty=False)).localCheckpoint()
    rated.createOrReplaceTempView("rated")
    lines = spark.sql(to_dialect(query.lines, "spark", pretty=False)).localCheckpoint()
    rejects = spark.sql(to_dialect(query.rejects, "spark", pretty=False))
    return SparkRating(lines, rejects, rated, query)


def bill(book: PriceBook, usage: DataFrame | str, spark: SparkSession | None = None, currency: str | None = None,
         assume_tz: tzinfo | None = None, on_reject=None, strict: bool = False,
         token_types: tuple[str, ...] | None = None) -> Bill:
    """The `Bill` of Spark usage, as `billing.bill` gives it: lines read back from Spark an account at a time."""
    spark = spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    settings = exact_session(spark)
    settings.__enter__()
    try:
        rating = rate(book, usage, spark, currency, assume_tz, token_types)
        return _bill(book, spark, rating, Rater(book, currency, assume_tz), on_reject, strict, settings)
    except BaseException:
        settings.__exit__(None, None, None)
        raise


def bill_files(book: PriceBook, paths, spark: SparkSession | None = None, currency: str | None = None,
               assume_tz: tzinfo | None = None, input_format: str | None = None, **options) -> Bill:
    """Bill usage files on Spark: read by ratecard's reader (every line one record, as the other engines read
    them), handed to Spark as Parquet, and billed there."""
    import duckdb

    from .sql.inputs import UsageTable
    spark = spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    workdir = tempfile.mkdtemp(prefix="ratecard-spark-")
    try:
        con = duckdb.connect()
        table = UsageTable(con, Rater(book, currency, assume_tz))
        table.add(read_usage(paths, input_format))
        con.execute(f"COPY ratecard_usage TO '{workdir}/usage.parquet' (FORMAT parquet)")
        con.close()
        frame = spark.read.parquet(f"{workdir}/usage.parquet")
        result = bill(book, frame, spark, currency, assume_tz, token_types=table.token_types, **options)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    close = result.lines.close

    def close_and_remove() -> None:  # the lines are read from the Parquet file until then
        close()
        shutil.rmtree(workdir, ignore_errors=True)
    result.lines.close = close_and_remove
    weakref.finalize(result.lines, shutil.rmtree, workdir, True)
    return result


def _bill(book: PriceBook, spark: SparkSession, rating: SparkRating, rater: Rater, on_reject, strict: bool,
          settings) -> Bill:
    rating.lines.createOrReplaceTempView("bill_lines")

    def close() -> None:
        rating.lines.unpersist()
        rating.rated.unpersist()
        settings.__exit__(None, None, None)
    return engine_bill(book, rater, rating.query, lambda sql: _rows(spark, sql), on_reject, strict, close)


def _rows(spark: SparkSession, sql: str) -> Iterator[tuple]:
    """The rows of a query in DuckDB's dialect, run in Spark's."""
    return (tuple(row) for row in spark.sql(to_dialect(sql, "spark", pretty=False)).toLocalIterator())


def _usage_relation(book: PriceBook, frame: DataFrame, name: str, token_types: tuple[str, ...]) -> DataFrame:
    """A DataFrame of usage columns as the relation `ratecard_usage` the query reads: every field as text."""
    meters = UsageMeters.of(book)
    check_header(list(frame.columns), meters, name)
    kinds = {field.name: field.dataType for field in frame.schema.fields}
    text = {column: _as_text(column, kind) for column, kind in kinds.items()
            if column not in ("source", "line")}
    columns = [
        F.lit(0).alias("file_index"),
        (F.col("source") if "source" in kinds else F.lit(name)).cast("string").alias("source"),
        (F.col("line") if "line" in kinds else F.monotonically_increasing_id() + 1).cast("bigint").alias("line"),
        F.concat_ws(",", *(F.coalesce(value, F.lit("")) for value in text.values())).alias("record"),
        F.lit(None).cast("string").alias("pre_code"), F.lit(None).cast("string").alias("pre_reason"),
        *(text.get(field, F.lit(None).cast("string")).alias(field) for field in (*FIELDS, *book.variant_fields)),
        *(text.get(meters.column(token_type), F.lit(None).cast("string")).alias(f"tok_{i}")
          for i, token_type in enumerate(token_types)),
    ]
    return frame.select(*columns)


def _as_text(column: str, kind) -> F.Column:
    value = F.col(f"`{column}`")
    if isinstance(kind, T.TimestampType):
        return F.date_format(value, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS'Z'")
    if isinstance(kind, T.TimestampNTZType):
        return F.date_format(value, "yyyy-MM-dd'T'HH:mm:ss.SSSSSS")
    return value.cast("string")


def _token_types_of(book: PriceBook, names) -> tuple[str, ...]:
    types = list(default_token_types(book))
    types += [t for _, t in token_fields(names, UsageMeters.of(book)) if t not in types]
    return tuple(types)


def _lookups(spark: SparkSession, rater: Rater, query: RatingQuery) -> None:
    names, odd = lookups(rater, query, lambda sql: _rows(spark, sql))
    for name, columns, kinds in (("region_names", names, (T.StringType(), T.StringType())),
                                 ("odd_timestamps", odd, (T.StringType(), T.LongType(), T.StringType()))):
        schema = T.StructType([T.StructField(column, kind) for column, kind in zip(columns, kinds)])
        spark.createDataFrame(list(zip(*columns.values())), schema).createOrReplaceTempView(name)
