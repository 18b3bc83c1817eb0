"""The two worked examples the source documents give, to the last digit.

Checked by hand against the seeds:
- AI Function: US (Virginia), 750 input + 20 output tokens:
  0.000480 x 750/1000 + 0.001440 x 20/1000 = 0.000360 + 0.0000288 -> USD 0.000389
- AI Center: China (Hangzhou), 10,000 calls of 260 input + 50 output tokens:
  0.00096 x 260 x 10000/1000 + 0.0024 x 50 x 10000/1000 = 2.496 + 1.2 = CNY 3.696
"""

from __future__ import annotations

import json
from decimal import Decimal

from ratecard.cli.ratecard import main as ratecard_main


def test_ai_function_example_exact(starrocks):
    quote = starrocks.quote(region="us-east-1", model="qwen-plus", tokens={"input": 750, "output": 20})
    assert quote.currency == "USD"
    assert quote.tier.label == "0 < T <= 256K"
    assert quote.line("input").amount == Decimal("0.000360")
    assert quote.line("output").amount == Decimal("0.0000288")
    assert quote.total == Decimal("0.0003888")
    assert quote.total_rounded == Decimal("0.000389")
    assert str(quote.total_rounded) == "0.000389"


def test_ai_center_example_exact(ai_center):
    quote = ai_center.quote(region="China (Hangzhou)", model="qwen-plus", tokens={"input": 260, "output": 50},
                            requests=10_000, currency="CNY", at="2026-04-08T00:00+08:00")
    assert quote.line("input").tokens == 2_600_000
    assert quote.line("input").amount == Decimal("2.496")
    assert quote.line("output").amount == Decimal("1.2")
    assert quote.total == Decimal("3.696")
    assert quote.total_rounded == Decimal("3.696000")


def test_ai_function_example_text(capsys, snapshot):
    code = ratecard_main(["quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus",
                          "--input", "750", "--output", "20"])
    assert code == 0
    assert capsys.readouterr().out == snapshot


def test_ai_function_example_json(capsys, snapshot):
    code = ratecard_main(["quote", "emr-starrocks-ai-function", "--region", "US (Virginia)", "--model", "qwen-plus",
                          "--input", "750", "--output", "20", "--format", "json"])
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total"] == "0.0003888"
    assert data["total_rounded"] == "0.000389"
    assert [line["amount"] for line in data["lines"]] == ["0.00036", "0.0000288"]
    assert data == snapshot


def test_ai_center_example_text(capsys, snapshot):
    code = ratecard_main(["quote", "emr-serverless-spark-ai-center", "--region", "cn-hangzhou", "--model", "qwen-plus",
                          "--input", "260", "--output", "50", "--requests", "10000", "--currency", "CNY",
                          "--at", "2026-04-08T00:00+08:00"])
    assert code == 0
    assert capsys.readouterr().out == snapshot


def test_ai_center_free_trial_before_launch(ai_center):
    quote = ai_center.quote(region="cn-hangzhou", model="qwen-plus", tokens={"input": 260, "output": 50},
                            requests=10_000, currency="CNY", at="2026-04-07T23:59:59+08:00")
    assert quote.list_total == Decimal("3.696")
    assert [c.kind for c in quote.credits] == ["trial"]
    assert quote.credits[0].amount == Decimal("-3.696")
    assert quote.total == 0
    assert "2026-04-08" in quote.credits[0].reason


def test_examples_in_the_books_pass():
    import ratecard
    for name in ratecard.shipped_books():
        analysis = ratecard.analyze(name)
        assert analysis.diagnostics == (), name
        assert analysis.book.examples, name
