"""Variants (issue 8): service tiers, batch and endpoint uplifts, as own rates or multipliers, stacked as stated.

The prices of tests/books/variants.rules are in its header: gpt-5 standard $1.25 input, $0.125 cached input, $10
output per 1M tokens; Flex $0.625 / $0.0625 / $5 (from 2026-07-01 in the book); Priority $2.50 / $0.25 / $20;
batch half of any model's prices, an in-region endpoint 10% more; batch and a service tier exclude each other.
Claude Sonnet 4.5 on Bedrock: $3 / $15 up to a 200K prompt, $6 / $22.50 beyond; its Priority is 1.75 times.
Each amount below is worked by hand from them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import ratecard
from ratecard.errors import VariantNotPriced
from ratecard.records import read_usage

BOOK = str(Path(__file__).parent / "books" / "variants.rules")
CLAUDE = "anthropic.claude-sonnet-4-5-20250929-v1:0"
TOKENS = {"input": 1_000_000, "output": 100_000}
AFTER = "2026-08-01T00:00Z"


@pytest.fixture(scope="module")
def book() -> ratecard.PriceBook:
    return ratecard.load(BOOK)


def gpt5(book, variants, at=AFTER, tokens=TOKENS):
    return book.quote(region="api", model="gpt-5", tokens=tokens, at=at, variants=variants)


@pytest.mark.parametrize("variants, total", [
    ((), Decimal("2.25")),                      # 1.25 + 100K x 10 / 1M
    ("flex", Decimal("1.125")),                 # own rates: 0.625 + 0.5
    ("priority", Decimal("4.5")),               # own rates: 2.50 + 2
    ("batch", Decimal("1.125")),                # the book's multiplier: (1.25 + 1) x 0.5
    (("batch", "regional"), Decimal("1.2375")),  # multipliers multiply: 2.25 x 0.5 x 1.1
    (("regional", "priority"), Decimal("4.95")),  # own rates, then the multiplier: 4.5 x 1.1
    ({"service_tier": "flex", "processing": "", "endpoint": None}, Decimal("1.125")),  # a record's fields
])
def test_each_variant_and_each_stack_prices_as_the_book_says(book, variants, total):
    quote = gpt5(book, variants)
    assert quote.total == total
    assert quote.variant == tuple(v for v in (("flex", "priority", "batch", "regional")) if v in (
        (variants,) if isinstance(variants, str) else tuple(variants.values()) if isinstance(variants, dict)
        else variants))


def test_a_multiplied_price_is_shown_as_written_times_the_multiplier(book):
    lines = gpt5(book, ("batch", "regional")).lines
    assert [(line.token_type, line.unit_price, str(line.unit_price)) for line in lines] == [
        ("input", Decimal("0.6875"), "0.6875"), ("output", Decimal("5.5"), "5.5")]


def test_a_variant_before_its_own_table_is_in_force_is_priced_as_the_model(book):
    assert gpt5(book, "flex", at="2026-06-30T23:59:59Z").total == Decimal("2.25")
    assert gpt5(book, "flex", at="2026-07-01T00:00Z").total == Decimal("1.125")


def test_a_multiplier_applies_in_every_tier(book):
    """300K input is tier 2 (a prompt over 200K): 300K x 6 / 1M x 0.5 = 0.9; Priority 1.75 x tier 1 prices."""
    quote = book.quote(region="us-east-1", model=CLAUDE, tokens={"input": 300_000, "output": 0}, variants="batch")
    assert (quote.tier.index, quote.total) == (2, Decimal("0.9"))
    quote = book.quote(region="us-east-1", model=CLAUDE, tokens={"input": 100_000, "output": 10_000},
                       variants="priority")
    assert quote.total == Decimal("0.7875")  # (0.3 + 0.15) x 1.75


@pytest.mark.parametrize("variants, message", [
    (("flex", "batch"), "variants 'flex' and 'batch' exclude each other in variants"),
    (("flex", "priority"), "variants 'flex' and 'priority' are both values of 'service_tier'"),
    ("flx", "unknown variant 'flx' in book variants"),
])
def test_a_request_the_book_cannot_price_in_that_variant_is_refused_by_name(book, variants, message):
    with pytest.raises(VariantNotPriced) as raised:
        gpt5(book, variants)
    assert raised.value.code == "E110" and raised.value.message == message


def test_a_model_without_the_variant_is_refused_not_priced_as_standard(book):
    with pytest.raises(VariantNotPriced) as raised:
        book.quote(region="us-east-1", model=CLAUDE, tokens={"input": 1}, variants="flex")
    assert raised.value.message == f"{CLAUDE} has no 'flex' prices in us-east-1"
    assert raised.value.hint == "its variants there: batch, priority, regional"


USAGE = """timestamp,account,region,model,input_tokens,output_tokens,service_tier,processing,endpoint
2026-08-01T10:00:00Z,a,api,gpt-5,1000000,100000,,,
2026-08-01T10:00:00Z,a,api,gpt-5,1000000,100000,flex,,
2026-08-01T10:00:00Z,a,api,gpt-5,1000000,100000,, batch ,regional
2026-08-01T10:00:00Z,a,api,gpt-5,1000000,100000,flex,batch,
2026-08-01T10:00:00Z,a,us-east-1,anthropic.claude-sonnet-4-5-20250929-v1:0,300000,0,,batch,
"""


def test_a_bill_names_each_line_variant_and_rejects_what_it_cannot_price(book, tmp_path):
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE)
    bill = book.bill(read_usage([usage]))
    assert [(line.model, line.offer.variant, line.token_type, line.amount) for line in bill.lines] == [
        ("gpt-5", (), "input", Decimal("1.25")), ("gpt-5", (), "output", Decimal("1")),  # lines by variant
        ("gpt-5", ("batch", "regional"), "input", Decimal("0.6875")),
        ("gpt-5", ("batch", "regional"), "output", Decimal("0.55")),
        ("gpt-5", ("flex",), "input", Decimal("0.625")), ("gpt-5", ("flex",), "output", Decimal("0.5")),
        (CLAUDE, ("batch",), "input", Decimal("0.9")), (CLAUDE, ("batch",), "output", Decimal("0"))]
    assert [(r.line, r.code) for r in bill.rejects] == [(5, "E110")]
    assert (bill.read, bill.billed, bill.rejected) == (5, 4, 1)
    from ratecard.writers import line_fields
    fields = line_fields(bill.lines[2])
    assert (fields["variant"], fields["description"]) == ("batch+regional", "gpt-5 input tokens, tier all, batch, "
                                                                            "regional")


def test_dict_records_name_variants_by_their_fields(book):
    record = {"timestamp": AFTER, "account": "a", "region": "api", "model": "gpt-5", "input_tokens": 1_000_000,
              "output_tokens": 0, "service_tier": "priority"}
    assert book.bill([record]).totals["USD"].billed == Decimal("2.5")
    bad = book.bill([record | {"service_tier": ["priority"]}])
    assert bad.rejects[0].code == "E205" and "service_tier is list" in bad.rejects[0].reason


def test_duckdb_bills_variants_as_the_python_engine_does(book, tmp_path):
    pytest.importorskip("duckdb")
    from ratecard.sql import bill as sql_bill
    from test_sql_engines import assert_same_bill
    usage = tmp_path / "usage.csv"
    usage.write_text(USAGE + "2026-08-01T11:00:00Z,b,api,gpt-5,10,0,turbo,,\n")
    expected = book.bill(read_usage([usage]))
    actual = sql_bill(book, [usage])
    assert_same_bill(expected, actual)
    assert [(r.line, r.code) for r in actual.rejects] == [(5, "E110"), (7, "E110")]
    assert actual.rejects[1].reason.startswith("unknown variant 'turbo' in book variants")


def test_the_book_formats_to_itself_and_its_examples_hold():
    from ratecard.fmt import format_text
    text = Path(BOOK).read_text()
    assert format_text(text, BOOK) == text
    assert ratecard.analyze(BOOK).diagnostics == ()


def test_explain_walks_a_record_through_its_variant(book):
    from ratecard.trace import explain_record
    record = {"timestamp": AFTER, "account": "a", "region": "us-east-1", "model": CLAUDE, "input_tokens": 100_000,
              "output_tokens": 10_000, "processing": "batch", "endpoint": "regional"}
    trace = explain_record(book, record)
    variant = next(step for step in trace.steps if step.name == "variant")
    assert variant.summary == "variant batch+regional"
    assert variant.details[:2] == ("processing = batch", "endpoint = regional")
    rate = next(step for step in trace.steps if step.name == "rate")
    assert rate.summary == "input: 100000 x 1.65 / 1000000 = 0.165"  # 3 x 0.5 x 1.1
    refused = explain_record(book, record | {"region": "api", "model": "gpt-5", "service_tier": "flex"})
    assert refused.rejection.code == "E110" and refused.rejection.step == "variant"


def test_diff_shows_variant_prices_added_removed_and_changed(book, tmp_path):
    from ratecard.diff import diff_books
    text = Path(BOOK).read_text()
    changed = text.replace("api   { input 2.50   cache_read 0.25   output 20 }",
                           "api   { input 2.75   cache_read 0.25   output 20 }").replace(
        "batch * 0.5", "batch * 0.6").replace("    variant priority * 1.75\n", "")
    assert changed.count("\n") == text.count("\n") - 1
    new = tmp_path / "new.rules"
    new.write_text(changed)
    diff = diff_books(book, ratecard.load(str(new)))
    prices = {(c.model, c.tier, c.token_type): (c.old, c.new) for c in diff.prices}
    assert prices[("gpt-5 [priority]", "all", "input")] == (Decimal("2.5"), Decimal("2.75"))
    assert prices[("gpt-5 [batch]", "all", "output")] == (Decimal("5"), Decimal("6"))  # 10 x 0.5 -> 10 x 0.6
    assert prices[(f"{CLAUDE} [priority]", "0 < T <= 200K", "input")] == (Decimal("5.25"), None)  # 3 x 1.75
    assert ("gpt-5 [flex]", "all", "input") not in prices
    settings = {(c.subject, c.setting): (c.old, c.new) for c in diff.settings}
    assert settings[(f"model {CLAUDE}", "variants")] == ("batch, priority, regional", "batch, regional")
    assert "processing = batch * 0.6" in settings[("book", "variants")][1]


def test_the_price_page_shows_each_variant_with_its_prices(book):
    from ratecard.pagemodel import build_page
    page = build_page(book)
    assert [section.name for section in page.models] == [
        "gpt-5", "gpt-5 [flex]", "gpt-5 [priority]", "gpt-5 [batch]", "gpt-5 [regional]",
        CLAUDE, f"{CLAUDE} [priority]", f"{CLAUDE} [batch]", f"{CLAUDE} [regional]"]
    batch = page.models[3].groups[0].tables[0].rows[0]
    assert [(cell.token_type, cell.price) for cell in batch.cells] == [
        ("input", Decimal("0.625")), ("cache_read", Decimal("0.0625")), ("output", Decimal("5"))]
    flex = page.models[1].groups[0].tables  # the model's prices before the flex table, flex's from 2026-07-01
    assert [t.dated for t in flex] == [True, True] and flex[1].rows[0].cells[0].price == Decimal("0.625")


def test_regression_a_value_of_one_field_given_in_another_is_refused():
    """`service_tier: batch` was billed as batch (a value of processing): a value must be one of its field's."""
    book = ratecard.load(BOOK)
    record = {"timestamp": "2026-08-01T00:00Z", "account": "a", "region": "api", "model": "gpt-5",
              "input_tokens": 1_000_000, "output_tokens": 0}
    bill = book.bill([{**record, "service_tier": "batch"}, {**record, "processing": "batch"}])
    assert [(reject.line, reject.code) for reject in bill.rejects] == [(1, "E110")]
    assert "'batch' is a value of processing, not of service_tier" in bill.rejects[0].reason
    with pytest.raises(ratecard.RatecardError, match="not of service_tier"):
        book.quote(region="api", model="gpt-5", tokens={"input": 1, "output": 0}, variants={"service_tier": "batch"})


def test_regression_a_book_of_many_variant_fields_is_refused_not_compiled_forever():
    """Ten fields of eight values with the book's multipliers are 9**10 offers per model: `loads` hung."""
    fields = "\n".join(f"  variant f{i} = " + ", ".join(f"v{i}x{j} * 1.0{j}" for j in range(1, 9)) for i in range(10))
    text = (f'region r1 "R1"\nbook many "Many" {{\n  currency USD\n  price per 1M tokens\n  cycle hourly in UTC\n'
            f'  round 6 half-up\n{fields}\n  model m {{ r1 {{ input 1   output 2 }} }}\n}}\n')
    with pytest.raises(ratecard.RatecardError) as raised:
        ratecard.loads(text)
    assert [d.code for d in raised.value.diagnostics] == ["R051"]


def test_regression_a_bad_time_is_the_first_fault_of_a_quote_with_variants_in_every_book():
    """A quote naming an unknown variant at a bad time said E110 in a book without windows, E108 with them."""
    book = ratecard.load(BOOK)
    with pytest.raises(ratecard.RatecardError) as raised:
        book.quote(region="api", model="gpt-5", tokens={"input": 1, "output": 1}, at="garbage", variants="turbo")
    assert raised.value.code == "E108"


_HEAD = ('region r1 "R1"\nregion r2 "R2"\nbook b "B" {\n  currency USD\n  price per 1M tokens\n  cycle hourly in UTC\n'
         '  round 6 half-up\n')


def _values(prefix: str, count: int, multiplier: str = " * 1.5") -> str:
    return ", ".join(f"{prefix}{i}{multiplier}" for i in range(count))


def test_regression_r051_counts_the_offers_the_compiler_builds():
    """R051 counted every field's values times each other: two exclusive fields of 64 values (128 offers), 64
    values priced in r1 and 64 others in r2 (64 a region), and 16 x 240 values (4,096 offers: the combination of
    no value is the model's own offer) were each refused as more than 4,096."""
    exclusive = ratecard.loads(f"{_HEAD}  variant fa = {_values('a', 64)}\n  variant fb = {_values('b', 64)}\n"
                               "  exclusive fa, fb\n  model m { r1 { input 1   output 2 } }\n}\n")
    assert len(exclusive.offers[("m", "r1")].variants) == 128
    exact = ratecard.loads(f"{_HEAD}  variant fa = {_values('a', 16)}\n  variant fb = {_values('b', 240)}\n"
                           "  model m { r1 { input 1   output 2 } }\n}\n")
    assert len(exact.offers[("m", "r1")].variants) == 4_096
    own = "".join(f"    variant {name} {{ {region} {{ input 2 }} }}\n" for region, prefix in (("r1", "a"), ("r2", "b"))
                  for name in _values(prefix, 64, "").split(", "))
    regional = ratecard.loads(f"{_HEAD}  variant fa = {_values('a', 64, '')}\n  variant fb = {_values('b', 64, '')}\n"
                              f"  model m {{\n    r1 {{ input 1   output 2 }}\n    r2 {{ input 1   output 2 }}\n{own}  }}\n}}\n")
    assert [len(regional.offers[("m", r)].variants) for r in ("r1", "r2")] == [64, 64]
    with pytest.raises(ratecard.RatecardError) as raised:  # one more value: 16 x 241 + 16 + 241 > 4,096
        ratecard.loads(f"{_HEAD}  variant fa = {_values('a', 16)}\n  variant fb = {_values('b', 241)}\n"
                       "  model m { r1 { input 1   output 2 } }\n}\n")
    assert [d.code for d in raised.value.diagnostics] == ["R051"]


def test_regression_r051_bounds_the_variant_offers_of_the_whole_book():
    """Each model within 4,096 a region, but 40 models of 4,000: 160,000 offers compiled ahead (seconds, and
    more with every model)."""
    models = "".join(f"  model m{i} {{ r1 {{ input 1   output 2 }} }}\n" for i in range(40))
    with pytest.raises(ratecard.RatecardError) as raised:
        ratecard.loads(f"{_HEAD}  variant fa = {_values('a', 16)}\n  variant fb = {_values('b', 234)}\n{models}}}\n")
    assert [(d.code, "over its models and regions, by model 'm25'" in d.message)
            for d in raised.value.diagnostics] == [("R051", True)]
