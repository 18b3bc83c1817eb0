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


def test_duckdb_chooses_the_window_by_the_time_as_python_does(book, tmp_path):
    """The edges of both windows, a time in UTC+8 and a window named by the record: DuckDB's lines are the
    hand-worked ones (1M input tokens: 0.27 standard, 0.135 off-peak, 0.243 on Saturday's window)."""
    pytest.importorskip("duckdb")
    from ratecard.records import read_usage
    from ratecard.sql import bill as sql_bill
    usage = tmp_path / "usage.csv"
    usage.write_text("timestamp,account,region,model,input_tokens,output_tokens,window\n" + "".join(
        f"{at},a,global,deepseek-chat,1000000,0,{window}\n" for at, window in [
            ("2026-06-01T16:29:59.999999Z", ""), ("2026-06-01T16:30:00Z", ""), ("2026-06-02T08:29:00+08:00", ""),
            ("2026-06-02T00:30:00Z", "off-peak"), ("2026-06-06T10:00:00Z", " weekend "),
            ("2026-06-06T16:30:00Z", "")]))
    expected, actual = book.bill(read_usage([usage])), sql_bill(book, [usage])
    assert [(line.cycle_start.isoformat(), line.offer.variant, line.amount) for line in actual.lines
            if line.token_type == "input"] == [
        ("2026-06-01T16:00:00+00:00", (), Decimal("0.27")), ("2026-06-01T16:00:00+00:00", ("off-peak",),
                                                              Decimal("0.135")),
        ("2026-06-02T00:00:00+00:00", ("off-peak",), Decimal("0.135")),
        ("2026-06-06T10:00:00+00:00", ("weekend",), Decimal("0.243")),
        ("2026-06-06T16:00:00+00:00", ("off-peak",), Decimal("0.135"))]
    assert [(reject.line, reject.code) for reject in actual.rejects] == [(5, "E110")]  # off-peak named at 00:30
    assert [line.amount for line in actual.lines] == [line.amount for line in expected.lines]
    assert list(actual.rejects) == list(expected.rejects)


def test_a_cached_book_keeps_its_windows(tmp_path, monkeypatch):
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    path = tmp_path / "deepseek.rules"
    path.write_text(BOOK)
    ratecard.load(path)
    cached = ratecard.load(path)
    assert list((tmp_path / "cache").glob("*.pickle"))
    assert cached.quote(region="global", model="deepseek-chat", tokens={"input": 1_000_000},
                        at="2026-06-01T23:00Z").total == Decimal("0.135")


def _record(at: str, **fields) -> dict:
    return {"timestamp": at, "account": "a", "region": "global", "model": "deepseek-chat",
            "input_tokens": 1_000_000, "output_tokens": 0, **fields}


def test_regression_a_record_cannot_claim_a_window_its_time_is_not_in(book):
    """A `window` column saying off-peak at noon was billed at half price: the time chooses the window."""
    bill = book.bill([_record("2026-06-01T12:00Z", window="off-peak"), _record("2026-06-01T17:00Z", window="weekend"),
                      _record("2026-06-01T17:00Z", window=" off-peak ")])
    assert [(reject.line, reject.code) for reject in bill.rejects] == [(1, "E110"), (2, "E110")]
    assert "not in the time window 'off-peak'" in bill.rejects[0].reason
    assert [(line.offer.variant, line.amount) for line in bill.lines if line.token_type == "input"] == [
        (("off-peak",), Decimal("0.135"))]  # the window its time is in: named or not, the same price
    with pytest.raises(ratecard.RatecardError) as raised:
        book.quote(region="global", model="deepseek-chat", tokens={"input": 1, "output": 0},
                   at="2026-06-01T12:00Z", variants=("off-peak",))
    assert raised.value.code == "E110"
    quote = book.quote(region="global", model="deepseek-reasoner", tokens={"input": 1_000_000, "output": 0},
                       at="2026-06-01T17:00Z", variants={"window": "off-peak"})
    assert (quote.variant, quote.total) == ((), Decimal("0.55"))  # in the window, which it does not price


def test_regression_explain_walks_a_record_through_the_window_that_priced_it(book):
    """`explain` priced an off-peak record at the model's own rates while the bill took the window's."""
    from ratecard.trace import explain_record
    trace = explain_record(book, _record("2026-06-01T17:00Z"))
    steps = {step.name: step for step in trace.steps}
    assert steps["variant"].summary == "variant off-peak"
    assert "input: 1000000 x 0.135 / 1000000 = 0.135" in [step.summary for step in trace.steps]
    assert trace.totals.billed == Decimal("0.135")


def test_windows_of_different_models_may_overlap_and_each_model_takes_its_own():
    """tests/books/windows.rules: Sunday 02:00 UTC is in the weekend window (Sunday 09:00 UTC+8 on) and in
    deepseek-v4-flash's morning peak; each model prices the one it has. Hand-worked from the book's header."""
    from pathlib import Path
    windows = ratecard.load(str(Path(__file__).parent / "books" / "windows.rules"))
    at, tokens = "2026-05-10T02:00Z", {"input": 1_000_000, "output": 1_000_000}
    chat = windows.quote(region="global", model="deepseek-chat", tokens=tokens, at=at)
    flash = windows.quote(region="global", model="deepseek-v4-flash", tokens=tokens, at=at, variants={"window": "weekend"})
    assert (chat.variant, chat.total) == (("weekend",), Decimal("1.233"))  # (0.27 + 1.10) * 0.9
    assert (flash.variant, flash.total) == (("v4-peak-morning",), Decimal("1.5"))  # 0.3 + 1.2
    quiet = windows.quote(region="global", model="deepseek-v4-flash", tokens=tokens, at="2026-05-10T05:00Z")
    assert (quiet.variant, quiet.total) == ((), Decimal("0.42"))  # between its peaks, in a weekend it does not price


def test_rulecheck_explain_lists_the_windows_with_their_hours(book):
    from ratecard.explain import explain
    text = explain(book)
    assert "  time window off-peak: every day, 16:30 to 00:30 in UTC\n" in text
    assert "  time window weekend: every week, sat 01:00 to sat 16:30 in UTC, every model x 0.9\n" in text


def test_regression_a_variant_field_named_window_is_refused_in_every_book():
    """In a book without time windows, `variant window = fast * 2` compiled, but every engine took `fast` for a
    time window and refused each request naming it (E110). The name is reserved for time windows."""
    text = ('region global "Global"\nbook b "B" {\n  currency USD\n  price per 1M tokens\n  cycle hourly in UTC\n'
            '  round 6 half-up\n  variant window = fast * 2\n  model m { global { input 1   output 2 } }\n}\n')
    with pytest.raises(ratecard.RatecardError) as raised:
        ratecard.loads(text)
    assert [(d.code, d.span.line) for d in raised.value.diagnostics] == [("R046", 7)]


def test_regression_an_example_in_a_book_with_windows_gives_its_time():
    """An example without `at` was priced at the time it was checked: it passed at 20:00 and failed at noon."""
    with pytest.raises(ratecard.RatecardError) as raised:
        ratecard.loads(BOOK.replace(" at 2026-06-01T23:00Z  =>", "  =>"))
    assert [d.code for d in raised.value.diagnostics] == ["R036"]
    assert "gives no time, and the book has time windows" in raised.value.diagnostics[0].message


def test_the_readme_deepseek_window_ends_at_16_00_utc_on_2025_09_05():
    """README's example: half price off-peak until 2025-09-05T16:00Z, the model's own prices after it."""
    book = ratecard.loads(BOOK.replace("    variant off-peak * 0.5\n", "    variant off-peak {\n      global effective "
                                       "until 2025-09-05T16:00Z   { input 0.135   output 0.55 }\n    }\n"))
    totals = [book.quote(region="global", model="deepseek-chat", tokens={"input": 1_000_000, "output": 0}, at=at).total
              for at in ("2025-09-04T17:00Z", "2025-09-05T15:59Z", "2025-09-05T17:00Z")]
    assert totals == [Decimal("0.135"), Decimal("0.27"), Decimal("0.27")]
