"""One semantics, several engines: DuckDB's bills are the Python engine's, line for line and digit for digit.

The differential property: for any usage (seeded messy files, `messy_usage.py`) and every book the tests
know (the shipped books and `tests/books/`), `ratecard.sql.bill` (DuckDB) and `book.bill` give the same lines
(every field, the exact and the rounded amount), the same rejects (source, line, text, code, reason), the
same per-account and overall totals, counts and quota ledger.
"""

from __future__ import annotations

import io
import json
import os
import random
from decimal import Decimal
from pathlib import Path

import pytest
import ratecard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from messy_usage import messy_csv, messy_jsonl
from ratecard.billing import Bill
from ratecard.moments import parse_zone
from ratecard.records import read_usage
from ratecard.sql import bill as sql_bill
from ratecard.sql import compile_query
from ratecard.sql.query import WHITESPACE
from ratecard.writers import FORMATS

EXAMPLES = int(os.environ.get("RATECARD_SQL_EXAMPLES", "1"))  # a multiplier, for longer runs by hand

BOOKS = {
    "emr-starrocks-ai-function": ("USD",),
    "emr-serverless-spark-ai-center": ("USD", "CNY"),
    str(Path(__file__).parent / "books" / "dated-days-quota.rules"): ("USD", "EUR"),
    str(Path(__file__).parent / "books" / "whole-prompt.rules"): ("USD",),  # names in the wild, a sum selector
    str(Path(__file__).parent / "books" / "units.rules"): ("USD",),  # per request, call and image; per 1K tokens
    str(Path(__file__).parent / "books" / "variants.rules"): ("USD",),  # service tiers, batch, uplifts, stacked
    str(Path(__file__).parent / "books" / "windows.rules"): ("USD",),  # off-peak hours, a weekly window, stacked
}
_loaded: dict[str, ratecard.PriceBook] = {}


def book_of(name: str):
    if name not in _loaded:
        _loaded[name] = ratecard.load(name)
    return _loaded[name]


def line_tuple(line) -> tuple:
    return (line.cycle_start, line.cycle_end, line.account, line.region, line.model, line.tier.index, line.tier.label,
            line.token_type, line.kind, line.quantity, line.unit_price, line.pricing_unit, line.amount,
            line.amount_rounded, line.description)


def assert_same_bill(expected: Bill, actual: Bill) -> None:
    """Every line, reject, total and count of the two bills equal (exact Decimals, to the digit)."""
    expected_lines = [line_tuple(line) for line in expected.lines]
    actual_lines = [line_tuple(line) for line in actual.lines]
    assert len(actual.lines) == len(expected_lines)
    for number, (want, got) in enumerate(zip(expected_lines, actual_lines)):
        assert got == want, f"line {number}"
    assert actual_lines == expected_lines
    assert list(actual.rejects) == list(expected.rejects)
    assert (actual.read, actual.billed, actual.rejected) == (expected.read, expected.billed, expected.rejected)
    assert actual.read == actual.billed + actual.rejected
    assert dict(actual.accounts) == dict(expected.accounts)
    assert dict(actual.totals) == dict(expected.totals)
    assert actual.ledger == expected.ledger


def assert_same_csv(book, expected: Bill, actual: Bill) -> None:
    """DuckDB's own CSV writer gives `writers.py`'s text, byte for byte."""
    written = io.StringIO()
    actual.lines.write_csv(written)
    assert written.getvalue() == "".join(FORMATS["csv"](expected, book))


def both_bills(tmp_path: Path, book_name: str, data: bytes, suffix: str = ".csv", **options) -> tuple[Bill, Bill]:
    usage = tmp_path / f"usage{suffix}"
    usage.write_bytes(data)
    book = book_of(book_name)
    return (book.bill(read_usage([usage]), **options), sql_bill(book, [usage], **options))


@settings(max_examples=8 * EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), size=st.sampled_from([1, 5, 40, 200]), name=st.sampled_from(sorted(BOOKS)),
       pick=st.integers(0, 1), unknown=st.booleans(), assume=st.booleans())
def test_duckdb_bills_messy_csv_as_the_python_engine_does(tmp_path, seed, size, name, pick, unknown, assume):
    book = book_of(name)
    rng = random.Random(seed)
    currency = BOOKS[name][pick % len(BOOKS[name])]
    options = {"currency": currency, "assume_tz": parse_zone("UTC+8") if assume else None}
    expected, actual = both_bills(tmp_path, name, messy_csv(rng, book, size, unknown_column=unknown), **options)
    assert_same_bill(expected, actual)
    assert_same_csv(book, expected, actual)


@settings(max_examples=8 * EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32), size=st.sampled_from([1, 30, 150]), name=st.sampled_from(sorted(BOOKS)))
def test_duckdb_bills_messy_json_lines_as_the_python_engine_does(tmp_path, seed, size, name):
    expected, actual = both_bills(tmp_path, name, messy_jsonl(random.Random(seed), book_of(name), size), ".jsonl")
    assert_same_bill(expected, actual)
    assert_same_csv(book_of(name), expected, actual)


@pytest.mark.parametrize("name", sorted(BOOKS))
def test_a_thousand_messy_records_bill_alike(tmp_path, name):
    """One larger file per book: quota crossings among few accounts need enough records to happen."""
    rng = random.Random(20261202)
    expected, actual = both_bills(tmp_path, name, messy_csv(rng, book_of(name), 1500))
    book = book_of(name)
    credit = "quota" if book.quota else "trial" if book.trial else None  # a book with neither has no credit lines
    assert expected.rejected and any(line.kind == credit for line in expected.lines) == (credit is not None)
    assert_same_bill(expected, actual)
    assert_same_csv(book_of(name), expected, actual)


def test_the_example_usage_bills_alike_and_as_the_hand_calculation(tmp_path):
    book = book_of("emr-starrocks-ai-function")
    usage = Path(__file__).parents[1] / "examples" / "usage.csv"
    expected, actual = book.bill(read_usage([usage])), sql_bill(book, [usage])
    assert_same_bill(expected, actual)
    totals = actual.totals["USD"]
    assert (totals.list, totals.credits, totals.billed) == (
        Decimal("24.642158632"), Decimal("-2.822078123"), Decimal("21.820080509"))


def test_quota_ties_on_one_instant_go_by_the_python_tie_break(tmp_path):
    """Five records at one microsecond, each of 300,000 tokens: the quota runs out in the middle of them,
    and who gets the credit follows request_id, region, model and token counts, as `RatedRecord.order` says."""
    rows = ["timestamp,account,region,model,input_tokens,output_tokens,request_id"]
    for request_id, region, tokens in (("b", "us-east-1", (250000, 50000)), ("a", "cn-beijing", (200000, 100000)),
                                       ("", "cn-beijing", (299999, 1)), ("", "us-east-1", (1, 299999)),
                                       ("c", "Singapore", (150000, 150000))):
        rows.append(f"2026-05-01T10:15:00.000001+08:00,acct,{region},qwen-plus,{tokens[0]},{tokens[1]},{request_id}")
    expected, actual = both_bills(tmp_path, "emr-starrocks-ai-function", "\n".join(rows).encode())
    assert_same_bill(expected, actual)
    quota = [line for line in actual.lines if line.kind == "quota"]
    assert sum(line.quantity for line in quota) == 1_000_000


def test_a_quota_window_from_january_31_ends_on_february_28(tmp_path):
    rows = ["timestamp,account,region,model,input_tokens,output_tokens",
            "2026-01-31T10:00:00+08:00,a,us-east-1,qwen-plus,10,0",
            "2026-02-28T09:59:59.999999+08:00,a,us-east-1,qwen-plus,1000,0",
            "2026-02-28T10:00:00+08:00,a,us-east-1,qwen-plus,2000,0"]
    expected, actual = both_bills(tmp_path, "emr-starrocks-ai-function", "\n".join(rows).encode())
    assert_same_bill(expected, actual)
    assert [line.quantity for line in actual.lines if line.kind == "quota"] == [10, 1000]


def test_huge_counts_stay_exact_in_decimal(tmp_path):
    rows = ["timestamp,account,region,model,input_tokens,output_tokens,requests",
            "2026-05-01T10:15:00+08:00,a,cn-beijing,qwen-plus,1000000,999999999999999,1000000000000",
            "2026-05-01T10:16:00+08:00,a,cn-beijing,qwen-plus,999999999999999,0,1"]
    expected, actual = both_bills(tmp_path, "emr-starrocks-ai-function", "\n".join(rows).encode())
    assert_same_bill(expected, actual)
    (output_line,) = [l for l in actual.lines if l.token_type == "output" and l.kind == "usage"]
    # (10**15 - 1) * 10**12 tokens at 0.008257 per 1K: 8.257e21 less 10**12 * 8.257e-6
    assert output_line.amount == Decimal("8256999999999991743000")


def test_regression_duckdb_writes_the_csv_of_an_amount_near_the_top_of_decimal_38(tmp_path):
    """Rounding scaled the whole amount by 10**places: an amount the bill holds overflowed DECIMAL(38) in the
    CSV writer (DuckDB's OutOfRangeException). 10**27 tokens at $10 per 1M: 10**22 dollars, 12 decimals."""
    rows = ["timestamp,account,region,model,input_tokens,output_tokens,requests",
            "2026-08-01T10:15:00Z,a,api,gpt-5,1,999999999999999,1000000000000"]
    expected, actual = both_bills(tmp_path, str(Path(__file__).parent / "books" / "variants.rules"),
                                  "\n".join(rows).encode())
    # (10**27 - 10**12) output tokens at 0.00001 and 10**12 input tokens at 0.00000125: 10**22 - 10**7 + 1.25 * 10**6
    assert actual.totals["USD"].billed_rounded == Decimal("9999999999999991250000.000000")
    assert_same_bill(expected, actual)
    assert_same_csv(book_of(str(Path(__file__).parent / "books" / "variants.rules")), expected, actual)


def test_parquet_usage_bills_as_the_same_rows_in_csv(tmp_path):
    import pyarrow
    import pyarrow.parquet as pq
    book = book_of("emr-starrocks-ai-function")
    usage = Path(__file__).parents[1] / "examples" / "usage.csv"
    lines = usage.read_text().splitlines()
    header, rows = lines[0].split(","), [line.split(",") for line in lines[1:]]
    good = [row for row in rows if len(row) == len(header)]
    table = pyarrow.table({name: [row[i] for row in good] for i, name in enumerate(header)})
    pq.write_table(table, tmp_path / "u.parquet")
    csv = tmp_path / "u.csv"
    csv.write_text("\n".join([",".join(header), *(",".join(row) for row in good)]) + "\n")
    from_parquet, from_csv = sql_bill(book, [tmp_path / "u.parquet"]), book.bill(read_usage([csv]))
    assert [line_tuple(l) for l in from_parquet.lines] == [line_tuple(l) for l in from_csv.lines]
    assert [(r.line - 1, r.code, r.reason) for r in from_parquet.rejects] == \
        [(r.line - 2, r.code, r.reason) for r in from_csv.rejects]


def test_the_sql_trims_what_python_strip_strips():
    assert "".join(map(chr, WHITESPACE)) == "".join(c for c in map(chr, range(0x110000)) if c.isspace())


def test_a_book_whose_prices_do_not_fit_decimal_38_is_refused_by_name():
    text = Path(__file__).parent.joinpath("books", "dated-days-quota.rules").read_text()
    text = text.replace("input 0.03, EUR 0.025", "input 0.000000000000000000000000000003, EUR 0.025")
    book = ratecard.loads(text, name="precise.rules")
    with pytest.raises(ratecard.RatecardError) as raised:
        compile_query(book, "USD")
    assert raised.value.code == "E400" and "36 decimals per token" in raised.value.message


def test_rejects_come_in_the_order_of_the_lines_they_were_read_from(tmp_path):
    rows = ["timestamp,account,region,model,input_tokens,output_tokens,request_id",
            "2026-05-01T10:15:00+08:00,a,us-east-1,qwen-plus,5,5,r1",
            "2026-05-01T10:14:00+08:00,a,us-east-1,qwen-plus,5,5,r1",
            "bad,a,us-east-1,qwen-plus,5,5,r2",
            "2026-05-01T10:15:00+08:00,a,us-east-1,qwen-plus,5,5,r2"]
    expected, actual = both_bills(tmp_path, "emr-starrocks-ai-function", "\n".join(rows).encode())
    assert_same_bill(expected, actual)
    assert [(r.line, r.code) for r in actual.rejects] == [(3, "E207"), (4, "E202")]


def test_json_lines_record_text_and_numbers_alike(tmp_path):
    records = [{"timestamp": "2026-05-01T10:15:00+08:00", "account": 7, "region": "US (Virginia)",
                "model": "qwen-plus", "input_tokens": 750, "output_tokens": "20", "requests": None},
               {"timestamp": "2026-05-01T10:15:00+08:00", "account": "b", "region": "us-east-1",
                "model": "qwen-plus", "input_tokens": 10**15, "output_tokens": 0}]
    data = "\n".join(json.dumps(r) for r in records).encode()
    expected, actual = both_bills(tmp_path, "emr-starrocks-ai-function", data, ".jsonl")
    assert_same_bill(expected, actual)
    assert [r.code for r in actual.rejects] == ["E204"]


@pytest.mark.parametrize("mode", ["half-up", "half-even", "half-down", "up", "down", "ceiling", "floor"])
def test_every_rounding_mode_rounds_and_allocates_alike(tmp_path, mode):
    path = Path(__file__).parent / "books" / "dated-days-quota.rules"
    book = ratecard.loads(path.read_text().replace("round 4 half-even", f"round 4 {mode}"), name=str(path))
    usage = tmp_path / "usage.csv"
    usage.write_bytes(messy_csv(random.Random(len(mode)), book, 300))
    expected, actual = book.bill(read_usage([usage])), sql_bill(book, [usage])
    assert any(line.adjustment for line in expected.lines)  # the largest remainder method had work to do
    assert_same_bill(expected, actual)
    assert_same_csv(book, expected, actual)


def test_an_amount_past_decimal_38_is_a_clear_error_not_a_wrong_bill(tmp_path):
    """10**27 tokens in a record are allowed; at 1,000 a token the amount has 31 digits before the point, past
    the 29 that DECIMAL(38, 9) leaves. The Python engine has no such limit."""
    book = ratecard.loads('region r1 "R One"\nbook big "Big" {\n  currency USD\n  price per token\n'
                          '  cycle hourly in UTC\n  round 2 half-up\n'
                          '  model m { r1 { input 1000.000000001   output 1 } }\n}\n')
    usage = tmp_path / "u.csv"
    usage.write_text("timestamp,account,region,model,input_tokens,output_tokens,requests\n"
                     "2026-05-01T10:15:00Z,a,r1,m,999999999999999,0,1000000000000\n")
    # (10**27 - 10**12) * 1000.000000001 = 10**30 + 10**18 - 10**15 - 10**3
    assert book.bill(read_usage([usage])).totals["USD"].list == Decimal("1000000000000998999999999999000")
    with pytest.raises(ratecard.RatecardError) as raised:
        sql_bill(book, [usage])
    assert raised.value.code == "E400" and "DECIMAL(38)" in raised.value.message


def _loadable_test_books() -> list[Path]:
    found = []
    for path in sorted(Path(__file__).parent.rglob("*.rules")):
        try:
            ratecard.load(str(path))
        except ratecard.RatecardError:
            continue  # a rulecheck case of an error: no book to bill
        found.append(path)
    return found


@pytest.mark.parametrize("path", _loadable_test_books(), ids=lambda path: path.name)
def test_every_book_in_the_tests_bills_alike_or_is_refused_by_name(tmp_path, path):
    book = ratecard.load(str(path))
    usage = tmp_path / "usage.csv"
    usage.write_bytes(messy_csv(random.Random(path.name), book, 200))
    expected = book.bill(read_usage([usage]))
    try:
        actual = sql_bill(book, [usage])
    except ratecard.RatecardError as error:
        assert error.code == "E400" and ("decimals per token" in error.message
                                         or "which the SQL engines do not bill yet" in error.message)
        return
    assert_same_bill(expected, actual)
    assert_same_csv(book, expected, actual)


def test_a_no_price_reason_names_the_region_of_its_own_record(tmp_path):
    """Found in review: the rater cached a tier's no-price error for every region of the group, so the second
    region's reject named the first region (and the engines, rating in another order, disagreed)."""
    rows = ["timestamp,account,region,model,input_tokens,output_tokens",
            "2026-05-01T10:15:00+08:00,a,us-west-1,qwen-plus,5,5",
            "2026-05-01T10:15:00+08:00,a,ap-northeast-1,qwen-plus,5,5"]
    expected, actual = both_bills(tmp_path, "emr-serverless-spark-ai-center", "\n".join(rows).encode(),
                                  currency="CNY")
    assert ["in us-west-1" in expected.rejects[0].reason, "in ap-northeast-1" in expected.rejects[1].reason] == \
        [True, True]
    assert_same_bill(expected, actual)


def test_cycles_of_one_instant_in_two_zones_are_written_in_their_own_zones(tmp_path):
    """Found in review: the writers cached a cycle's text by the datetime, and datetimes of one instant are equal
    across zones, so a second book's bill could be written with the first book's offset."""
    path = Path(__file__).parent / "books" / "dated-days-quota.rules"
    west = ratecard.loads(path.read_text().replace("cycle daily in UTC-05:30", "cycle hourly in UTC-10"),
                          name=str(path))
    cases = ((book_of("emr-starrocks-ai-function"), "us-east-1,qwen-plus", "+08:00"), (west, "east-1,tiny", "-10:00"))
    for book, place, offset in cases:
        usage = tmp_path / f"{offset}.csv"
        usage.write_text(f"timestamp,account,region,model,input_tokens,output_tokens\n"
                         f"2026-05-01T00:30:00Z,a,{place},750,20\n")
        written = "".join(FORMATS["csv"](book.bill(read_usage([usage])), book))
        assert written.splitlines()[1].split(",")[0].endswith(offset)
