"""Numbers and dates beyond the language's limits are diagnostics (R037-R041), never a traceback.

Each named case was a decimal.Inexact, an int-conversion ValueError, or a book that loaded and then
crashed (or silently misbilled) later; the fuzz test throws huge and odd numbers and dates at every
numeric slot of the shipped books.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ratecard.build import number_value
from ratecard.errors import PricingError
from ratecard.explain import explain
from ratecard.include import read_text_program
from ratecard.limits import MAX_REQUESTS, MAX_TOKENS
from ratecard.loader import analyze_program
from ratecard.parse import parser
from ratecard.resources import rules_dir

STARROCKS = (rules_dir() / "emr-starrocks-ai-function.rules").read_text(encoding="utf-8")
AI_CENTER = (rules_dir() / "emr-serverless-spark-ai-center.rules").read_text(encoding="utf-8")


def analysis_of(text: str):
    return analyze_program(read_text_program(text, "book.rules", rules_dir()))


def findings(old: str, new: str, book: str = STARROCKS) -> list[tuple[str, str]]:
    assert old in book
    return [(d.code, d.message) for d in analysis_of(book.replace(old, new, 1)).errors]


HOSTILE = [
    # (name, old, new, code)
    ("price-100000-digits", "input 0.000480   output", "input 0." + "1" * 100_000 + "   output", "R037"),
    ("price-5000-integer-digits", "input 0.000480   output", "input " + "9" * 5000 + "   output", "R037"),
    ("price-31-digits-with-K", "input 0.000480   output", "input 1234567890123456789012345678.9K   output", "R037"),
    ("price-31-decimals", "input 0.000480   output", "input 0.0000000000000000000000000000001   output", "R037"),
    ("price-unit-1-and-5000-zeros", "price per 1K tokens", "price per 1" + "0" * 5000 + " tokens", "R038"),
    ("price-unit-10-to-the-30", "price per 1K tokens", "price per 1" + "0" * 30 + " tokens", "R038"),
    ("window-99999999999-months", "window 1 month", "window 99999999999 month", "R040"),
    ("window-36501-days", "window 1 month", "window 36501 days", "R040"),
    ("tier-bound-5000-digits", "256K < T <= 1M     input 0.001440",
     "256K < T <= 1" + "0" * 5000 + "     input 0.001440", "R039"),
    ("tier-bound-above-10-to-the-15", "256K < T <= 1M     input 0.001440",
     "256K < T <= 1000000000000001     input 0.001440", "R039"),
    ("free-5000-digits", "free 1M tokens", "free 1" + "0" * 5000 + " tokens", "R039"),
    ("example-count-5000-digits", "input 750 output 20", "input 750 output 2" + "0" * 5000, "R039"),
    ("example-count-10-to-the-15", "input 750 output 20", "input 750 output 1000000000000000", "R039"),
    ("example-requests-above-10-to-the-12", "input 750 output 20", "input 750 output 20 requests 1000000000001",
     "R039"),
    ("example-amount-100000-digits", "USD 0.000389", "USD 0." + "3" * 100_000, "R037"),
    ("example-at-year-9999", "=>  USD", "at 9999-12-31T23:00-05:00 =>  USD", "R041"),
    ("example-at-year-0001", "=>  USD", "at 0001-01-01T00:00+08:00 =>  USD", "R041"),
    ("trial-until-year-0001", "  example", "  trial until 0001-01-01\n  example", "R041"),
    ("book-until-year-9999", "  example", "  effective until 9999-12-31T23:00-12:00\n  example", "R041"),
    ("table-from-year-0001", "international {", "international effective from 0001-01-01 {", "R041"),
    ("trial-until-1969", "  example", "  trial until 1969-12-31\n  example", "R041"),
]


@pytest.mark.parametrize("old, new, code", [case[1:] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_a_number_beyond_the_limits_is_one_diagnostic(old, new, code):
    found = findings(old, new)
    assert [c for c, _ in found] == [code], found
    assert all(len(message) < 300 for _, message in found), "a huge number is abbreviated in the message"


@pytest.mark.parametrize("old, new", [
    ("price per 1K tokens", "price per 1M tokens"),
    ("price per 1K tokens", "price per token"),
    ("256K < T <= 1M     input 0.001440", "256K < T <= 1000000000000000     input 0.001440"),
    ("input 750 output 20", "input 750 output 999999999999999 requests 1000000000000"),
    ("window 1 month", "window 1200 months"),
    ("window 1 month", "window 36500 days"),
    ("input 0.000480   output", "input 0.000000000000000000000000000001   output"),
    ("input 0.000480   output", "input 123456789012345678901234567890   output"),
    ("=>  USD", "at 8999-12-31T23:59+00:00 =>  USD"),
    ("=>  USD", "at 1970-01-01T00:00Z =>  USD"),
])
def test_numbers_at_the_limits_are_accepted(old, new):
    assert not [code for code, _ in findings(old, new) if code in ("R037", "R038", "R039", "R040", "R041")]


def test_a_multiplier_never_rounds():
    assert number_value("1234567890123456789012345678.9K") == Decimal("1234567890123456789012345678900")
    assert number_value("0.0000000000000000000000000000000001M") == Decimal("1E-28")


# --- fuzz: hostile numbers and dates in every slot of the shipped books ------------------------------

def slots(text: str) -> list[tuple[int, int, str]]:
    """(start, end, terminal) of every number and date of a book."""
    return [(t.start_pos, t.end_pos, t.type) for t in parser().lex(text) if t.type in ("NUMBER", "DATETIME")]


BOOKS = {"starrocks": (STARROCKS, slots(STARROCKS)), "ai-center": (AI_CENTER, slots(AI_CENTER))}

digit_runs = st.one_of(st.integers(1, 40), st.integers(41, 6000))
numbers = st.builds(
    lambda sign, lead, digits, point, fraction, suffix: (
        sign + "0" * lead + digits + (("." + fraction) if point else "") + suffix),
    st.sampled_from(["", "", "-"]),
    st.sampled_from([0, 0, 0, 1, 3000]),
    st.one_of(st.sampled_from(["0", "1", "9", "128", "1000000000000000", "1000000000000001", "999999999999999"]),
              digit_runs.map(lambda n: "9" * n), digit_runs.map(lambda n: "1" + "0" * n)),
    st.booleans(),
    st.one_of(st.sampled_from(["0", "5", "000480"]), digit_runs.map(lambda n: "0" * n + "1"),
              digit_runs.map(lambda n: "3" * n)),
    st.sampled_from(["", "", "K", "M"]),
)
dates = st.builds(
    lambda year, month, day, time, offset: f"{year:04d}-{month:02d}-{day:02d}" + (time + offset if time else ""),
    st.one_of(st.integers(1, 9999), st.sampled_from([1969, 1970, 8999, 9000])),
    st.integers(1, 12), st.integers(1, 31),
    st.sampled_from(["", "T00:00", "T23:59:59"]),
    st.sampled_from(["", "Z", "+08:00", "-12:00", "+14:00"]),
)


@st.composite
def hostile_books(draw) -> str:
    text, places = BOOKS[draw(st.sampled_from(sorted(BOOKS)))]
    chosen = sorted(draw(st.sets(st.sampled_from(places), min_size=1, max_size=4)), reverse=True)
    for start, end, kind in chosen:  # from the end, so that earlier offsets stay right
        text = text[:start] + draw(numbers if kind == "NUMBER" else dates) + text[end:]
    return text


@settings(max_examples=250, deadline=None)
@given(hostile_books())
def test_hostile_numbers_get_diagnostics_never_exceptions(text):
    analysis = analysis_of(text)
    if analysis.book is None:
        assert analysis.errors
        return
    explain(analysis.book)
    offer_of = next(iter(analysis.book.offers))
    for tokens, requests in (({"input": MAX_TOKENS - 1, "output": MAX_TOKENS - 1}, MAX_REQUESTS),
                             ({"input": 1, "output": 0}, 1)):
        try:
            analysis.book.quote(region=offer_of[1], model=offer_of[0], tokens=tokens, requests=requests,
                                at="2026-05-01T10:00+08:00")
        except PricingError:
            pass
