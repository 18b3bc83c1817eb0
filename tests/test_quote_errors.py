"""Every way a quote can fail raises the package's own error, with a hint."""

from __future__ import annotations

import pytest

import ratecard

GOOD = {"region": "us-east-1", "model": "qwen-plus", "tokens": {"input": 10, "output": 10}}


def quote(book, **changes):
    return book.quote(**{**GOOD, **changes})


@pytest.mark.parametrize("changes, error, words", [
    ({"region": "us-eats-1"}, ratecard.UnknownRegion, "did you mean 'us-east-1'"),
    ({"region": "Atlantis"}, ratecard.UnknownRegion, "region ID"),
    ({"model": "qwen-plsu"}, ratecard.UnknownModel, "did you mean 'qwen-plus'"),
    ({"tokens": {"input": 1_000_001, "output": 0}}, ratecard.BeyondHighestTier, "split the request"),
    ({"currency": "EUR"}, ratecard.NoPriceInCurrency, "USD"),
    ({"tokens": {"input": -1, "output": 0}}, ratecard.InvalidTokens, "zero or more"),
    ({"tokens": {"input": 1.5, "output": 0}}, ratecard.InvalidTokens, "integers"),
    ({"tokens": {"input": "10", "output": 0}}, ratecard.InvalidTokens, "integers"),
    ({"tokens": {"input": True, "output": 0}}, ratecard.InvalidTokens, "integers"),
    ({"requests": 0}, ratecard.InvalidTokens, "at least 1"),
    ({"requests": 2.0}, ratecard.InvalidTokens, "integers"),
    ({"tokens": {"input": 10, "cached": 10}}, ratecard.UnknownTokenType, "input, output"),
    ({"tokens": {"input": 10, "outptu": 10}}, ratecard.UnknownTokenType, "did you mean 'output'"),
    ({"at": "yesterday"}, ratecard.NotEffective, "2026"),
])
def test_quote_errors(starrocks, changes, error, words):
    with pytest.raises(error) as raised:
        quote(starrocks, **changes)
    assert isinstance(raised.value, ratecard.PricingError)
    assert isinstance(raised.value, ratecard.RatecardError)
    assert words in str(raised.value)
    assert raised.value.code.startswith("E1")


def test_region_not_offered(ai_center):
    with pytest.raises(ratecard.RegionNotOffered) as raised:
        quote(ai_center, region="cn-qingdao")
    assert "offered in:" in raised.value.hint


def test_not_in_force_before_a_rate_table_starts():
    book = ratecard.loads("""
        include "alibaba-regions.rules"
        book dated "Dated" {
          currency USD
          price per 1M tokens
          cycle hourly in UTC
          round 6 half-up
          effective from 2026-01-01 until 2027-01-01
          model m {
            us-east-1 effective from 2026-01-01 until 2026-07-01 { input 1 output 2 }
            us-east-1 effective from 2026-07-01 { input 3 output 4 }
          }
        }""")
    first = book.quote(region="us-east-1", model="m", tokens={"input": 1_000_000}, at="2026-06-30T23:59:59Z")
    second = book.quote(region="us-east-1", model="m", tokens={"input": 1_000_000}, at="2026-07-01")
    assert (first.total, second.total) == (1, 3)
    with pytest.raises(ratecard.NotEffective, match="not in force"):
        book.quote(region="us-east-1", model="m", tokens={"input": 1}, at="2025-12-31T23:00Z")
    with pytest.raises(ratecard.NotEffective, match="not in force"):
        book.quote(region="us-east-1", model="m", tokens={"input": 1}, at="2027-01-01")


def test_loading_errors_are_rules_errors(tmp_path):
    with pytest.raises(ratecard.RulesError, match="no rules file or shipped book"):
        ratecard.load("no-such-book")
    bad = tmp_path / "bad.rules"
    bad.write_text("book b { currency USD\n")
    with pytest.raises(ratecard.RulesError) as raised:
        ratecard.load(bad)
    assert raised.value.diagnostics[0].code == "R001"
