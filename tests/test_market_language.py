"""The language for the whole market (issue 8): names as they are in the wild, tiers chosen by the whole prompt.

The prices of tests/books/whole-prompt.rules are Anthropic's for Claude Sonnet 4.5, per 1M tokens: a prompt
(input + cache_read + cache_write) of at most 200K tokens is priced at input 3, output 15, cache_read 0.30,
cache_write 3.75; a longer one, whole, at 6, 22.50, 0.60 and 7.50. Each amount below is worked by hand from them.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import ratecard
from ratecard.errors import BeyondHighestTier

BOOK = str(Path(__file__).parent / "books" / "whole-prompt.rules")
SONNET = "anthropic/claude-sonnet-4.5"


@pytest.fixture(scope="module")
def book() -> ratecard.PriceBook:
    return ratecard.load(BOOK)


def quote(book, tokens, region="aws:us-east-1", model=SONNET, requests=1):
    return book.quote(region=region, model=model, tokens=tokens, requests=requests)


@pytest.mark.parametrize("model, region", [
    ("anthropic/claude-sonnet-4.5", "gcp/europe-west1"),
    ("claude-3-5-sonnet@20240620", "Belgium"),
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", "aws:us-east-1"),
])
def test_model_and_region_ids_with_dots_slashes_colons_and_at_signs(book, model, region):
    assert set(book.models) == {"anthropic/claude-sonnet-4.5", "claude-3-5-sonnet@20240620",
                                "us.anthropic.claude-3-5-haiku-20241022-v1:0"}
    assert set(book.regions) == {"aws:us-east-1", "gcp/europe-west1"}
    assert quote(book, {"input": 1000}, region, model).model == model


def test_a_name_may_start_with_at_or_tilde_as_cloudflare_and_openrouter_ids_do():
    """Cloudflare Workers AI names its models `@cf/meta/...`; OpenRouter's moving aliases start with `~`."""
    book = ratecard.loads("""
region cf "Cloudflare"
book workers-ai "Workers AI" {
  currency USD
  price per 1M tokens
  cycle hourly in UTC
  round 6 half-up
  model @cf/meta/llama-3.1-8b-instruct {
    alias ~meta/llama-latest
    cf { input 0.282   output 0.827 }
  }
}
""")
    quote = book.quote(region="cf", model="~meta/llama-latest", tokens={"input": 1_000_000, "output": 1_000})
    assert (quote.model, quote.total) == ("@cf/meta/llama-3.1-8b-instruct", Decimal("0.282827"))


HAIKU = "us.anthropic.claude-3-5-haiku-20241022-v1:0"


@pytest.mark.parametrize("at, total", [
    ("2026-05-01T09:59:59.999999Z", Decimal("0.84")),  # 1,000,000 x 0.80 / 1M + 10,000 x 4 / 1M = 0.8 + 0.04
    ("2026-05-01T10:00:00Z", Decimal("1.04")),         # from the change on: 1,000,000 x 1 / 1M + 0.04
    ("2026-05-01T12:00:00+02:00", Decimal("1.04")),    # the same instant, written in another zone
])
def test_a_price_change_on_one_rate_applies_from_its_instant(book, at, total):
    result = book.quote(region="aws:us-east-1", model=HAIKU, tokens={"input": 1_000_000, "output": 10_000}, at=at)
    assert result.total == total


def test_a_price_change_splits_the_table_and_each_line_points_at_the_price_that_priced_it(book):
    offer = book.offers[(HAIKU, "aws:us-east-1")]
    assert [(str(t.start), str(t.end)) for t in offer.tables] == [("None", "2026-05-01 10:00:00+00:00"),
                                                                   ("2026-05-01 10:00:00+00:00", "None")]
    records = [{"timestamp": stamp, "account": "a", "region": "aws:us-east-1", "model": HAIKU,
                "input_tokens": 1_000, "output_tokens": 0, "cache_write_tokens": 1_000}
               for stamp in ("2026-05-01T09:30:00Z", "2026-05-01T10:30:00Z")]
    lines = [(line.cycle_start.hour, line.token_type, line.amount, line.source.column)
             for line in book.bill(records).lines if line.quantity]
    # The Haiku row (line 31): `input 0.80` at column 23, `1 from ...` at 35; `cache_write 1` at 91, `1.25` at 106.
    assert lines == [(9, "input", Decimal("0.0008"), 23), (9, "cache_write", Decimal("0.001"), 91),
                     (10, "input", Decimal("0.001"), 35), (10, "cache_write", Decimal("0.00125"), 106)]


@pytest.mark.parametrize("tokens, tier, total", [
    # 150K input alone would be the first tier; with 60K read from cache the prompt is 210K: all at tier 2.
    ({"input": 150_000, "cache_read": 60_000, "output": 1_000}, 2, Decimal("0.9585")),  # 0.9 + 0.036 + 0.0225
    ({"input": 150_000, "cache_read": 40_000, "output": 1_000}, 1, Decimal("0.477")),  # 0.45 + 0.012 + 0.015
    # The bound: a prompt of exactly 200,000 tokens is tier 1, one more token is tier 2.
    ({"input": 100_000, "cache_read": 50_000, "cache_write": 50_000}, 1, Decimal("0.5025")),  # 0.3+0.015+0.1875
    ({"input": 100_000, "cache_read": 50_000, "cache_write": 50_001}, 2, Decimal("1.00500750")),  # 0.6+0.03+0.3750075
    # Output tokens are not part of the prompt: 199,999 input and a long answer stay in tier 1.
    ({"input": 199_999, "output": 100_000}, 1, Decimal("2.099997")),  # 0.599997 + 1.5
    ({"cache_write": 200_001}, 2, Decimal("1.50000750")),
])
def test_the_tier_is_chosen_by_the_whole_prompt(book, tokens, tier, total):
    result = quote(book, tokens)
    assert (result.tier.index, result.total) == (tier, total)


def test_n_identical_requests_are_tiered_by_the_prompt_of_one(book):
    result = quote(book, {"input": 150_000, "cache_read": 60_000, "output": 1_000}, requests=10)
    assert (result.tier.index, result.total) == (2, Decimal("9.585"))


def test_a_prompt_beyond_the_top_tier_names_the_sum(book):
    with pytest.raises(BeyondHighestTier) as raised:
        quote(book, {"input": 900_000, "cache_read": 100_001})
    assert "a request of 1000001 input + cache_read + cache_write tokens" in raised.value.message


def test_a_bill_tiers_each_record_by_its_own_prompt(book):
    records = [{"timestamp": "2026-05-03T12:00:00Z", "account": "a", "region": "N. Virginia", "model": SONNET,
                "input_tokens": 150_000, "output_tokens": 1_000, "cache_read_tokens": read}
               for read in (40_000, 60_000)]
    bill = book.bill(records)
    assert [(line.tier.index, line.token_type, line.amount) for line in bill.lines] == [
        (1, "input", Decimal("0.45")), (1, "output", Decimal("0.015")), (1, "cache_read", Decimal("0.012")),
        (2, "input", Decimal("0.9")), (2, "output", Decimal("0.0225")), (2, "cache_read", Decimal("0.036"))]
    assert bill.totals["USD"].billed == Decimal("1.4355")


def test_explain_shows_the_prompt_sum_that_chose_the_tier(book):
    from ratecard.trace import explain_record
    trace = explain_record(book, {"timestamp": "2026-05-03T12:00:00Z", "account": "a", "region": "aws:us-east-1",
                                  "model": SONNET, "input_tokens": 150_000, "output_tokens": 1_000,
                                  "cache_read_tokens": 60_000})
    tier = next(step for step in trace.steps if step.name == "tier")
    assert tier.summary == "tier 2 of 2: 200K < T <= 1M"
    assert tier.details[0] == ("210000 input + cache_read + cache_write tokens per request: "
                               "200000 < 210000 <= 1000000")


# --- model aliases ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929",
                                  "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "~anthropic/claude-sonnet-latest",
                                  SONNET])
def test_an_alias_prices_as_its_model_and_the_quote_names_the_model(book, name):
    result = quote(book, {"input": 150_000, "cache_read": 60_000, "output": 1_000}, model=name)
    assert (result.model, result.tier.index, result.total) == (SONNET, 2, Decimal("0.9585"))


def test_aliases_match_exactly_as_written(book):
    """Model IDs are API identifiers: unlike a region's display name, another case is another name."""
    with pytest.raises(ratecard.UnknownModel) as raised:
        quote(book, {"input": 1}, model="Claude-Sonnet-4-5")
    assert raised.value.hint == "did you mean 'claude-sonnet-4-5'?"


def test_a_bill_names_the_model_whatever_name_the_usage_gives(book):
    records = [{"timestamp": "2026-05-03T12:00:00Z", "account": "a", "region": "aws:us-east-1", "model": name,
                "input_tokens": 1_000, "output_tokens": 0} for name in ("claude-sonnet-4-5", SONNET)]
    bill = book.bill(records)
    assert [(line.model, line.token_type, line.quantity) for line in bill.lines] == [
        (SONNET, "input", 2_000), (SONNET, "output", 0)]  # one line: the two records are the same model
    assert bill.totals["USD"].billed == Decimal("0.006")


def test_a_cached_book_keeps_its_aliases(tmp_path, monkeypatch):
    """A regression: the cache pickled only the read-only mappings it named, so a book with aliases (a new
    read-only mapping) failed to pickle, quietly, and was compiled again on every load."""
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path))
    first = ratecard.load(BOOK)
    assert len(list(tmp_path.glob("*.pickle"))) == 1
    from ratecard import loader
    monkeypatch.setattr(loader, "analyze_program", lambda *a, **k: pytest.fail("compiled again"))
    second = ratecard.load(BOOK)
    assert dict(second.aliases) == dict(first.aliases) == {
        "claude-sonnet-4-5": SONNET, "claude-sonnet-4-5-20250929": SONNET,
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0": SONNET, "~anthropic/claude-sonnet-latest": SONNET}
    assert quote(second, {"input": 1}, model="claude-sonnet-4-5").model == SONNET


def test_the_authoring_tools_show_the_aliases(book, tmp_path):
    from ratecard.diff import diff_books
    from ratecard.explain import explain
    from ratecard.page import page_html, page_markdown
    names = ("claude-sonnet-4-5, claude-sonnet-4-5-20250929, us.anthropic.claude-sonnet-4-5-20250929-v1:0, "
             "~anthropic/claude-sonnet-latest")
    assert f"  also known as: {names}\n" in explain(book)
    assert ("Also billed under: `claude-sonnet-4-5`, `claude-sonnet-4-5-20250929`, "
            "`us.anthropic.claude-sonnet-4-5-20250929-v1:0`, `~anthropic/claude-sonnet-latest`.") in page_markdown(book)
    assert '<p class="aliases">Also billed under: <code>claude-sonnet-4-5</code>, ' in page_html(book)
    fewer = tmp_path / "fewer.rules"
    fewer.write_text(Path(BOOK).read_text().replace("alias claude-sonnet-4-5, ", "alias "))
    change = next(c for c in diff_books(book, ratecard.load(fewer)).settings if c.setting == "aliases")
    assert (change.subject, change.old, change.new) == (
        f"model {SONNET}", names, "claude-sonnet-4-5-20250929, us.anthropic.claude-sonnet-4-5-20250929-v1:0, "
                                  "~anthropic/claude-sonnet-latest")


def test_hover_on_a_changed_price_shows_that_price_per_token_and_its_date():
    from ratecard.lookup import analyze_buffer, hover
    analysis = analyze_buffer(Path(BOOK).read_text(), BOOK)
    # Line 32: `input 0.80` at column 23 (`0.80` at 29), its change `1 from 2026-05-01T10:00Z` at 35.
    before, after = hover(analysis, 32, 29).text, hover(analysis, 32, 35).text
    assert "USD 0.80 per 1M tokens = **USD 0.0000008 per token**" in before
    assert ("USD 1 per 1M tokens = **USD 0.000001 per token**, from 2026-05-01T10:00Z (a price change)"
            in after)


def test_a_price_change_on_one_rate_diffs_as_that_price_from_its_date(book, tmp_path):
    """Found by trying it: the diff paired the one table of the old book with neither half of the new book's
    split table, so a one-line price change showed as every price removed and twice added."""
    from ratecard.diff import diff_books
    old = tmp_path / "old.rules"
    old.write_text(Path(BOOK).read_text().replace(", 1 from 2026-05-01T10:00Z", "").replace(
        ", 1.25 from 2026-05-01T10:00Z", ""))
    changes = diff_books(ratecard.load(old), book).prices
    assert [(c.model, c.period, c.token_type, c.old, c.new) for c in changes] == [
        (HAIKU, "from 2026-05-01T10:00:00+00:00", "input", Decimal("0.80"), Decimal("1")),
        (HAIKU, "from 2026-05-01T10:00:00+00:00", "cache_write", Decimal("1"), Decimal("1.25"))]
