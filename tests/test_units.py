"""Units besides tokens (issue 8): a rate priced per request, per call, per image; a model priced per 1K tokens.

The prices of tests/books/units.rules are in its header: Sonar $1 / $1 per 1M tokens and a $5 per 1K requests
fee, Sonar Pro $3 / $15 and $6 per 1K requests, gpt-4.1 $2 / $8 and web search $10 per 1K calls, dall-e-3 $0.04
per image, gpt-3.5-turbo-instruct $0.0015 / $0.002 per 1K tokens. Each amount below is worked by hand from them.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
import ratecard
from ratecard.errors import InvalidTokens
from ratecard.records import read_usage
from ratecard.writers import FORMATS

BOOK = str(Path(__file__).parent / "books" / "units.rules")


@pytest.fixture(scope="module")
def book() -> ratecard.PriceBook:
    return ratecard.load(BOOK)


def lines(quote) -> list[tuple]:
    return [(line.token_type, line.tokens, line.unit, line.pricing_unit, line.amount) for line in quote.lines]


def test_a_fee_is_paid_once_per_request(book):
    quote = book.quote(region="api", model="sonar", tokens={"input": 1000, "output": 500}, requests=3)
    assert lines(quote) == [("input", 3000, "tokens", "1M tokens", Decimal("0.003")),
                            ("output", 1500, "tokens", "1M tokens", Decimal("0.0015")),
                            ("request", 3, "requests", "1K requests", Decimal("0.015"))]  # 3 x 5 / 1000
    assert quote.total == Decimal("0.0195")


def test_a_tool_call_is_counted_in_calls_and_priced_per_1k_calls(book):
    quote = book.quote(region="api", model="gpt-4.1", tokens={"input": 1000, "output": 200, "web_search": 2})
    assert lines(quote)[2] == ("web_search", 2, "calls", "1K calls", Decimal("0.02"))  # 2 x 10 / 1000
    assert quote.total == Decimal("0.0236")  # 0.002 + 0.0016 + 0.02


def test_a_model_of_images_alone(book):
    quote = book.quote(region="api", model="dall-e-3", tokens={"generation": 3}, requests=2)
    assert lines(quote) == [("generation", 6, "images", "image", Decimal("0.24"))]  # 2 requests x 3 x 0.04


def test_a_model_priced_per_1k_tokens_in_a_book_priced_per_1m(book):
    quote = book.quote(region="api", model="gpt-3.5-turbo-instruct", tokens={"input": 1000, "output": 500})
    assert [(line.pricing_unit, line.unit_price) for line in quote.lines] == [("1K tokens", Decimal("0.0015")),
                                                                              ("1K tokens", Decimal("0.002"))]
    assert quote.total == Decimal("0.0025")  # 1000 x 0.0015 / 1K + 500 x 0.002 / 1K
    assert book.quote(region="api", model="sonar", tokens={"input": 1}).lines[0].pricing_unit == "1M tokens"


def test_a_fee_given_as_usage_is_an_error_not_a_second_fee(book):
    with pytest.raises(InvalidTokens) as raised:
        book.quote(region="api", model="sonar", tokens={"input": 1, "request": 1})
    assert raised.value.code == "E106"
    assert "fee per request" in raised.value.message


def test_the_quote_json_names_each_line_unit(book):
    document = book.quote(region="api", model="gpt-4.1", tokens={"web_search": 2, "input": 0}).as_dict()
    search = next(line for line in document["lines"] if line["token_type"] == "web_search")
    assert (search["tokens"], search["unit"], search["unit_price"], search["pricing_unit"], search["amount"]) == \
        (2, "calls", "10", "1K calls", "0.02")


USAGE = """timestamp,account,region,model,input_tokens,output_tokens,web_search_calls,generation_images,requests
2026-06-01T10:00:00Z,acme,api,sonar,1000,500,,,3
2026-06-01T10:05:00Z,acme,api,sonar-pro,1000,500,,,1
2026-06-01T10:06:00Z,acme,api,gpt-4.1,1000,200,2,,1
2026-06-01T10:07:00Z,acme,api,dall-e-3,0,0,,3,1
2026-06-01T10:09:00Z,acme,api,sonar,1000,500,1,,1
"""


@pytest.fixture
def usage(tmp_path) -> Path:
    path = tmp_path / "usage.csv"
    path.write_text(USAGE)
    return path


def test_a_bill_counts_each_meter_in_its_own_unit(book, usage):
    bill = book.bill(read_usage([usage]))
    assert [(line.model, line.token_type, line.quantity, line.unit, line.pricing_unit, line.amount)
            for line in bill.lines] == [
        ("dall-e-3", "generation", 3, "images", "image", Decimal("0.12")),
        ("gpt-4.1", "input", 1000, "tokens", "1M tokens", Decimal("0.002")),
        ("gpt-4.1", "output", 200, "tokens", "1M tokens", Decimal("0.0016")),
        ("gpt-4.1", "web_search", 2, "calls", "1K calls", Decimal("0.02")),
        ("sonar", "input", 3000, "tokens", "1M tokens", Decimal("0.003")),
        ("sonar", "output", 1500, "tokens", "1M tokens", Decimal("0.0015")),
        ("sonar", "request", 3, "requests", "1K requests", Decimal("0.015")),
        ("sonar-pro", "input", 1000, "tokens", "1M tokens", Decimal("0.003")),
        ("sonar-pro", "output", 500, "tokens", "1M tokens", Decimal("0.0075")),
        ("sonar-pro", "request", 1, "requests", "1K requests", Decimal("0.006"))]
    assert (bill.read, bill.billed, bill.rejected) == (5, 4, 1)
    assert [(r.line, r.code, r.reason) for r in bill.rejects] == [
        (6, "E107", "sonar does not price 'web_search' calls (it prices: input, output, request)")]
    assert bill.totals["USD"].billed == Decimal("0.1796")  # 0.12 + 0.0236 + 0.0195 + 0.0165


def test_bill_csv_and_focus_name_the_unit(book, usage):
    bill = book.bill(read_usage([usage]))
    rows = list(csv.DictReader(io.StringIO("".join(FORMATS["csv"](bill, book)))))
    fee = next(row for row in rows if row["model"] == "sonar" and row["token_type"] == "request")
    assert (fee["quantity"], fee["unit"], fee["unit_price"], fee["pricing_unit"], fee["description"]) == \
        ("3", "requests", "5", "1K requests", "sonar request fee, tier all")
    focus = list(csv.DictReader(io.StringIO("".join(FORMATS["focus"](bill, book)))))
    search = next(row for row in focus if "Web Search" in row["SkuMeter"])
    assert (search["ConsumedQuantity"], search["ConsumedUnit"], search["PricingUnit"], search["SkuMeter"]) == \
        ("2", "Calls", "1000 Calls", "Web Search Calls")


@pytest.mark.parametrize("column, said", [
    ("web_search_tokens", "the column 'web_search_tokens' counts 'web_search' in tokens, but the book counts it in "
                          "calls: name the column 'web_search_calls'"),
    ("request_tokens", "the column 'request_tokens' counts 'request', a fee each request pays once: remove the "
                       "column"),
])
def test_a_meter_column_named_in_the_wrong_unit_is_refused_not_ignored(book, tmp_path, column, said):
    path = tmp_path / "usage.csv"
    path.write_text(USAGE.replace("web_search_calls", column))
    with pytest.raises(ratecard.RatecardError) as raised:
        book.bill(read_usage([path]))
    assert raised.value.code == "E210" and said in raised.value.message
    record = {"timestamp": "2026-06-01T10:00:00Z", "account": "a", "region": "api", "model": "gpt-4.1",
              "input_tokens": 1, "output_tokens": 1, column: 2}
    bill = book.bill([record])
    assert bill.rejected == 1 and bill.rejects[0].code == "E205" and said in bill.rejects[0].reason


def test_a_book_read_from_the_cache_still_knows_its_fees(tmp_path, monkeypatch, usage):
    """Found in review: units were compared by identity, and a book unpickled from the cache has its own Unit
    objects, so the SQL engine took a fee for a usage column and billed no fee at all."""
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    ratecard.load(BOOK)
    cached = ratecard.load(BOOK)
    assert list(tmp_path.joinpath("cache").glob("*.pickle"))
    assert cached.units["request"].per_request
    pytest.importorskip("duckdb")
    from ratecard.sql import bill as sql_bill
    fees = [line.amount for line in sql_bill(cached, [usage]).lines if line.token_type == "request"]
    assert fees == [Decimal("0.015"), Decimal("0.006")]


def test_the_book_formats_to_itself_and_its_examples_hold():
    from ratecard.fmt import format_text
    text = Path(BOOK).read_text()
    assert format_text(text, BOOK) == text
    assert ratecard.analyze(BOOK).diagnostics == ()
