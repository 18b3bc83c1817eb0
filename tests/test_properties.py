"""Properties of quoting that hold for any request, not just the documented ones."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

import ratecard

BOOK = ratecard.load("emr-starrocks-ai-function")
REGIONS = sorted(BOOK.regions)
AT = "2026-05-01T00:00+08:00"

regions = st.sampled_from(REGIONS)
input_tokens = st.integers(min_value=0, max_value=1_000_000)
output_tokens = st.integers(min_value=0, max_value=10_000_000)
requests = st.integers(min_value=1, max_value=10**9)


def quote(region, tokens_in, tokens_out, n=1):
    return BOOK.quote(region=region, model="qwen-plus", tokens={"input": tokens_in, "output": tokens_out},
                      requests=n, at=AT)


@settings(max_examples=200)
@given(regions, input_tokens, output_tokens, requests)
def test_cost_is_linear_in_requests(region, tokens_in, tokens_out, n):
    assert quote(region, tokens_in, tokens_out, n).total == quote(region, tokens_in, tokens_out).total * n


@settings(max_examples=200)
@given(regions, input_tokens, input_tokens, output_tokens, output_tokens)
def test_cost_is_monotone_in_tokens_within_a_tier(region, in_a, in_b, out_a, out_b):
    a = quote(region, min(in_a, in_b), min(out_a, out_b))
    b = quote(region, max(in_a, in_b), max(out_a, out_b))
    if a.tier.index == b.tier.index:
        assert a.total <= b.total


@settings(max_examples=200)
@given(regions, input_tokens, output_tokens, requests)
def test_a_quote_never_holds_a_float(region, tokens_in, tokens_out, n):
    result = quote(region, tokens_in, tokens_out, n)
    for value in (result.total, result.list_total, result.total_rounded,
                  *(v for line in result.lines for v in (line.amount, line.unit_price))):
        assert type(value) is Decimal
    assert result.total_rounded == result.total.quantize(Decimal("0.000001"), "ROUND_HALF_UP")
    assert not list(floats_in(result.as_dict()))


def floats_in(value, path="$"):
    """Every float inside plain data (dicts, lists, tuples), by its path: the types, not their repr."""
    if isinstance(value, float):
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from floats_in(item, f"{path}.{key}")
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from floats_in(item, f"{path}[{index}]")


def test_floats_in_finds_a_float_where_repr_would_not_say_so():
    assert list(floats_in({"a": [1, {"b": 0.5}]})) == ["$.a[1].b"]


@settings(max_examples=100)
@given(regions, input_tokens, output_tokens)
def test_total_is_the_sum_of_the_lines(region, tokens_in, tokens_out):
    result = quote(region, tokens_in, tokens_out)
    assert result.total == sum(line.amount for line in result.lines)
