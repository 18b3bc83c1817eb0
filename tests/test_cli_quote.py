"""`ratecard quote`: output forms and exit codes, run as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "ratecard.cli.ratecard", *args], capture_output=True, text=True,
                          cwd=cwd)


def test_quote_from_any_directory(tmp_path):
    result = run("quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus",
                 "--input", "750", "--output", "20", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Total: USD 0.000389" in result.stdout


def test_quote_json_has_money_in_strings():
    result = run("quote", "emr-serverless-spark-ai-center", "--region", "Hangzhou", "--model", "text-embedding-v4",
                 "--input", "1000", "--output", "7", "--format", "json", "--at", "2026-05-01")
    data = json.loads(result.stdout)
    assert data["total"] == "0.000086" and data["currency"] == "USD"
    assert data["lines"][1] == {"token_type": "output", "tokens": 7, "unit": "tokens", "unit_price": "0",
                                "pricing_unit": "1K tokens", "amount": "0",
                                "billed": False,  # `output not billed`, line 38 column 40:
                                "rate_source": "rules/emr-serverless-spark-ai-center.rules:38:40"}


@pytest.mark.parametrize("args, code, words", [
    (["--region", "us-eats-1"], 1, "did you mean 'us-east-1'"),
    (["--input", "1000001"], 1, "beyond the highest tier"),
    (["--currency", "CNY"], 1, "no prices in 'CNY'"),
    (["--tokens", "cached=5"], 1, "does not price 'cached'"),
    (["--input", "-3"], 2, "negative"),
    (["--input", "lots"], 2, "not a whole number"),
    (["--at", "yesterday"], 2, "not an ISO 8601 time"),
])
def test_quote_failures(args, code, words):
    base = ["quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus"]
    result = run(*base, *args)
    assert result.returncode == code
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_rules_file_exits_2(tmp_path):
    bad = tmp_path / "bad.rules"
    bad.write_text('book b "B" {\n  currency USD\n  price per 1K tokens\n  modle m { }\n}\n')
    result = run("quote", str(bad), "--region", "x", "--model", "m")
    assert result.returncode == 2
    assert f"{bad}:4:3: error[R001]" in result.stderr
    assert "did you mean 'model'" in result.stderr


def test_unknown_book_exits_2():
    result = run("quote", "no-such-book", "--region", "x", "--model", "m")
    assert result.returncode == 2
    assert "emr-starrocks-ai-function" in result.stderr


@pytest.mark.parametrize("option, text", [
    ("--input", "٣"), ("--input", "1_000"), ("--output", "²"), ("--input", "+5"),
    ("--requests", "١٠"), ("--tokens", "cached_input=٣"),
])
def test_cli_counts_take_ascii_digits_only_like_usage_files(option, text):
    result = run("quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus", option, text)
    assert result.returncode == 2, result.stdout
    assert "not a whole number" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("args, words", [
    (["--tokens", "output=5", "--output", "9"], "output tokens are given twice"),
    (["--input", "3", "--tokens", "input=4"], "input tokens are given twice"),
    (["--tokens", "cached_input=1", "--tokens", "cached_input=2"], "cached_input tokens are given twice"),
])
def test_one_token_type_given_twice_is_a_usage_error(args, words):
    result = run("quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus", *args)
    assert result.returncode == 2 and words in result.stderr, result.stderr


def test_tokens_option_alone_still_sets_a_type():
    result = run("quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus",
                 "--tokens", "input=750", "--tokens", "output=20", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total"] == "0.0003888"


def test_regression_a_bad_count_of_a_meter_names_its_own_unit():
    """`--tokens web_search=x` said `web_search_tokens is 'x'` for a meter the book counts in calls."""
    book = str(Path(__file__).parent / "books" / "units.rules")
    result = run("quote", book, "--region", "api", "--model", "gpt-4.1", "--input", "1",
                 "--output", "1", "--tokens", "web_search=x")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--tokens web_search=x: web_search_calls is 'x', not a whole number" in result.stderr
