"""Spark bills as the Python engine does: the same compiled query, written in Spark SQL, on a real local session.

The same differential property as `test_sql_engines.py`, on fewer and larger seeded usages (a Spark query
costs seconds, not milliseconds), plus a DataFrame of typed columns, and the text `ratecard sql --dialect spark`
prints, run in the session as it is.
"""

from __future__ import annotations

import random
import subprocess
import sys
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest
import ratecard
from messy_usage import messy_csv, messy_jsonl
from ratecard import spark as ratecard_spark
from ratecard.moments import parse_zone
from ratecard.records import read_usage
from spark_support import spark  # noqa: F401  (the fixture)
from test_sql_engines import BOOKS, assert_same_bill, book_of, line_tuple

pytestmark = pytest.mark.xdist_group("spark")  # one worker: its module fixtures start once

CASES = [  # (book, currency, format, seed, records, assume_tz)
    ("emr-starrocks-ai-function", "USD", "csv", 7, 400, None),
    ("emr-serverless-spark-ai-center", "CNY", "jsonl", 8, 400, None),
    (str(Path(__file__).parent / "books" / "dated-days-quota.rules"), "EUR", "csv", 9, 700, "UTC+8"),
    (str(Path(__file__).parent / "books" / "whole-prompt.rules"), "USD", "jsonl", 10, 300, None),
    (str(Path(__file__).parent / "books" / "units.rules"), "USD", "csv", 11, 200, None),
    (str(Path(__file__).parent / "books" / "variants.rules"), "USD", "jsonl", 12, 200, None),
    (str(Path(__file__).parent / "books" / "windows.rules"), "USD", "csv", 13, 300, None),
]


@pytest.mark.parametrize("name, currency, form, seed, count, assume", CASES)
def test_spark_bills_messy_usage_as_the_python_engine_does(spark, tmp_path, name, currency, form, seed, count,
                                                           assume):
    book = book_of(name)
    make = messy_csv if form == "csv" else messy_jsonl
    usage = tmp_path / f"usage.{form}"
    usage.write_bytes(make(random.Random(seed), book, count))
    options = {"currency": currency, "assume_tz": parse_zone(assume) if assume else None}
    expected = book.bill(read_usage([usage]), **options)
    actual = ratecard_spark.bill_files(book, [usage], spark, **options)
    assert expected.rejected and expected.billed
    assert_same_bill(expected, actual)


def test_a_dataframe_of_typed_columns_bills_as_its_csv(spark, tmp_path):
    """Integers for counts and Spark timestamps for times: the same lines as the text of a CSV file."""
    book = book_of("emr-starrocks-ai-function")
    rows = [(datetime(2026, 5, 1, 2, 15, tzinfo=UTC), "acme", "US (Virginia)", "qwen-plus", 750, 20, 1),
            (datetime(2026, 5, 1, 2, 15, 30, tzinfo=UTC), "acme", "cn-beijing", "qwen-plus", 200_000, 900_000,
             1),
            (datetime(2026, 5, 1, 3, 0, tzinfo=UTC), "beta", "Singapore", "qwen-plus", 300_000, 10, 4)]
    frame = spark.createDataFrame(rows, "timestamp timestamp, account string, region string, model string, "
                                        "input_tokens long, output_tokens long, requests int")
    csv = tmp_path / "u.csv"
    csv.write_text("timestamp,account,region,model,input_tokens,output_tokens,requests\n" + "".join(
        f"{t.isoformat()},{a},{r},{m},{i},{o},{n}\n" for t, a, r, m, i, o, n in rows))
    expected = book.bill(read_usage([csv]))
    actual = ratecard_spark.bill(book, frame, spark)
    assert [line_tuple(line) for line in actual.lines] == [line_tuple(line) for line in expected.lines]
    assert dict(actual.accounts) == dict(expected.accounts) and actual.ledger == expected.ledger
    spark.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "true")
    try:
        with pytest.raises(ratecard.RatecardError, match="allowPrecisionLoss"):
            ratecard_spark.rate(book, frame, spark)
    finally:
        spark.conf.set("spark.sql.decimalOperations.allowPrecisionLoss", "false")
    with ratecard_spark.exact_session(spark):
        rating = ratecard_spark.rate(book, frame, spark)
    assert {field.name: field.dataType.simpleString() for field in rating.lines.schema.fields}["amount"] \
        == f"decimal(38,{rating.query.scale})"


def test_the_printed_spark_query_runs_in_spark_and_bills_as_python(spark):
    book = book_of("emr-starrocks-ai-function")
    usage = Path(__file__).parents[1] / "examples" / "usage.csv"
    text = subprocess.run([sys.executable, "-m", "ratecard.cli.ratecard", "sql", "emr-starrocks-ai-function",
                           "--dialect", "spark", "--table", "usage_records"], capture_output=True, text=True,
                          check=True).stdout
    spark.read.csv(str(usage), header=True).createOrReplaceTempView("usage_records")
    with ratecard_spark.exact_session(spark):
        rows = spark.sql(text.rstrip().rstrip(";")).collect()
    expected = book.bill(read_usage([usage]))
    assert [(r.account, r.region, r.model, r.tier, r.token_type, r.kind, int(r.quantity), r.amount) for r in rows] == \
        [(l.account, l.region, l.model, l.tier.label, l.token_type, l.kind, l.quantity, l.amount)
         for l in expected.lines]


def test_every_known_book_compiles_to_spark_sql_that_spark_parses(spark):
    """Each book and currency of the DuckDB tests that no case above bills in Spark (those run there)."""
    billed = {(name, currency) for name, currency, *_ in CASES}
    for name in BOOKS:
        for currency in [c for c in BOOKS[name] if (name, c) not in billed]:
            query = ratecard.sql.compile_query(book_of(name), currency)
            spark.sql("CREATE OR REPLACE TEMP VIEW usage AS SELECT "
                      "'' AS `timestamp`, '' AS account, '' AS region, '' AS model, '' AS requests, "
                      "'' AS request_id, " + ", ".join(f"'' AS {c.usage_name}" for c in query.read_columns)
                      + " WHERE 1 = 0")
            sql = ratecard.sql.to_dialect(query.script(table="usage"), "spark")
            assert spark.sql(sql).columns  # parsed and analysed (resolved against the view); not run
