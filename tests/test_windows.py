"""Time windows (issue 8): DeepSeek's off-peak hours, a window that crosses midnight, chosen by a request's time.

DeepSeek priced deepseek-chat at $0.27 input and $1.10 output per 1M tokens, and at half of that from 16:30 to
00:30 UTC (its off-peak discount, as published until 2025-09-05). The weekend window below (a 10% discount on
Saturdays from 01:00 to 16:30 UTC) is made up for the test. Each amount is worked by hand.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import ratecard

BOOK = """
region global "Global"
book deepseek "DeepSeek, with its off-peak hours" {
  currency USD
  price per 1M tokens
  cycle hourly in UTC
  round 6 half-up
  window off-peak = 16:30 to 00:30 in UTC
  window weekend = sat 01:00 to sat 16:30 in UTC * 0.9

  model deepseek-chat {
    global { input 0.27   output 1.10 }
    variant off-peak * 0.5
  }
  model deepseek-reasoner {
    global { input 0.55   output 2.19 }
  }

  example "1M input tokens off-peak" {
    global deepseek-chat input 1000000 at 2026-06-01T23:00Z  =>  USD 0.135
  }
}
"""


@pytest.fixture(scope="module")
def book() -> ratecard.PriceBook:
    return ratecard.loads(BOOK)


@pytest.mark.parametrize("at, window, total", [
    ("2026-06-01T16:29:59.999999Z", (), Decimal("0.27")),  # 2026-06-01 is a Monday
    ("2026-06-01T16:30:00Z", ("off-peak",), Decimal("0.135")),
    ("2026-06-02T00:29:59Z", ("off-peak",), Decimal("0.135")),  # past midnight, still off-peak
    ("2026-06-02T00:30:00Z", (), Decimal("0.27")),
    ("2026-06-02T08:29:00+08:00", ("off-peak",), Decimal("0.135")),  # 00:29 UTC, written in UTC+8
    ("2026-06-06T10:00:00Z", ("weekend",), Decimal("0.243")),  # a Saturday: the book's 0.9 for every model
])
def test_the_time_of_a_request_chooses_its_window(book, at, window, total):
    quote = book.quote(region="global", model="deepseek-chat", tokens={"input": 1_000_000, "output": 0}, at=at)
    assert (quote.variant, quote.total) == (window, total)


def test_a_model_that_does_not_price_a_window_pays_its_own_prices_in_it(book):
    quote = book.quote(region="global", model="deepseek-reasoner", tokens={"input": 1_000_000, "output": 0},
                       at="2026-06-01T20:00Z")
    assert (quote.variant, quote.total) == ((), Decimal("0.55"))


def test_a_bill_names_the_window_on_its_lines(book):
    records = [{"timestamp": stamp, "account": "a", "region": "global", "model": "deepseek-chat",
                "input_tokens": 1_000_000, "output_tokens": 0} for stamp in ("2026-06-01T16:00Z", "2026-06-01T17:00Z")]
    bill = book.bill(records)
    assert [(line.cycle_start.hour, line.offer.variant, line.token_type, line.amount) for line in bill.lines] == [
        (16, (), "input", Decimal("0.27")), (16, (), "output", Decimal("0")),
        (17, ("off-peak",), "input", Decimal("0.135")), (17, ("off-peak",), "output", Decimal("0"))]
    assert "deepseek-chat input tokens, tier all, off-peak" == bill.lines[2].description


def test_the_sql_engines_refuse_a_book_with_windows_by_name(book):
    pytest.importorskip("duckdb")
    from ratecard.sql import compile_query
    with pytest.raises(ratecard.RatecardError) as raised:
        compile_query(book, "USD")
    assert raised.value.code == "E400" and "time windows (off-peak, weekend)" in raised.value.message


def test_a_cached_book_keeps_its_windows(tmp_path, monkeypatch):
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "deepseek.rules"
    path.write_text(BOOK)
    ratecard.load(path)
    cached = ratecard.load(path)
    assert list((tmp_path / "cache").glob("*.pickle"))
    assert cached.quote(region="global", model="deepseek-chat", tokens={"input": 1_000_000},
                        at="2026-06-01T23:00Z").total == Decimal("0.135")
