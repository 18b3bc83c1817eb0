"""`ratecard import litellm FILE`: books from LiteLLM's model_prices_and_context_window.json.

`tests/data/litellm-sample.json` holds 19 entries (and `sample_spec`) copied exactly from LiteLLM's
file: a plain chat model, cache reads and writes (5-minute and 1-hour), a long-context tier
(`_above_200k_tokens`, `_above_272k_tokens` with priority prices), audio tokens, an embedding model,
per-image, per-query and per-search prices, per-pixel and per-second prices, a key that is not a
name, six providers. Every amount below is worked by hand from those prices. Mechanisms the sample
has no entry for (xAI's inclusive thresholds, aliases, repeated keys, ...) are tested on small JSON
written here.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
import ratecard
from ratecard.cli.ratecard import main
from ratecard.cli.rulecheck import main as rulecheck
from ratecard.fmt import format_text
from ratecard.importers import litellm

SAMPLE = Path(__file__).parent / "data" / "litellm-sample.json"


@pytest.fixture(scope="module")
def imported():
    return litellm.import_file(SAMPLE)


def _book(imported, provider: str):
    books, _ = imported
    return next(b for b in books if b.provider == provider).book


def _total(imported, provider: str, model: str, **tokens) -> Decimal:
    return _book(imported, provider).quote(region="api", model=model, tokens=tokens).total


def _import(tmp_path: Path, entries: dict) -> tuple[list, object]:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return litellm.import_file(path)


# --- every entry, every book -----------------------------------------------------------------------------

def test_every_entry_is_imported_or_reported_with_a_reason(imported):
    _, report = imported
    keys = [k for k in json.loads(SAMPLE.read_text(encoding="utf-8")) if k != "sample_spec"]
    assert sorted(e.model for e in report.entries) == sorted(keys)
    for e in report.entries:
        assert e.imported or (e.reason and e.category), e
    assert report.summary()["imported"] == 15 and report.summary()["entries"] == 19


def test_the_reasons_are_exact(imported):
    _, report = imported
    why = {e.model: (e.category, e.reason) for e in report.entries if not e.imported}
    assert why["1024-x-1024/dall-e-2"][0] == "ID is not a name"
    assert why["azure/hd/1024-x-1024/dall-e-3"] == (
        "per-pixel price",
        "input_cost_per_pixel = 0.00000007629: priced per pixel of the image; the language has no pixel unit")
    assert why["twelvelabs.pegasus-1-2-v1:0"][0] == "per-second price"
    assert "input_cost_per_video_per_second = 0.00049" in why["twelvelabs.pegasus-1-2-v1:0"][1]
    assert why["amazon.titan-embed-image-v1"][0] == "per-image price by size or input"
    assert set(why) == {"1024-x-1024/dall-e-2", "azure/hd/1024-x-1024/dall-e-3", "twelvelabs.pegasus-1-2-v1:0",
                        "amazon.titan-embed-image-v1"}


def test_what_is_not_carried_over_is_noted(imported):
    _, report = imported
    notes = {e.model: e.notes for e in report.entries if e.imported}
    assert "input_cost_per_token_priority" in notes["azure_ai/gpt-5.4-mini"][0]
    assert "cache_creation_input_audio_token_cost" in notes["azure/eu/gpt-4o-mini-realtime-preview-2024-12-17"][0]
    assert notes["amazon.titan-image-generator-v1"] == ["input_cost_per_image is 0: nothing to carry over"]
    assert notes["ai21.j2-mid-v1"] == []


def test_one_formatted_book_per_provider_that_loads_and_passes_rulecheck(imported, tmp_path, capsys):
    books, report = imported
    assert [b.provider for b in books] == ["bedrock", "aiml", "bedrock_converse", "azure_ai", "azure"]
    assert report.books == {b.provider: b.file for b in books}
    for b in books:
        assert format_text(b.text) == b.text, b.file
        assert set(ratecard.loads(b.text).models) == {m.id for m in b.models}
        (tmp_path / b.file).write_text(b.text, encoding="utf-8")
        assert "\n  currency USD\n  price per 1M tokens\n  cycle hourly in UTC\n  round 6 half-up\n" in b.text
    assert rulecheck(["--strict", str(tmp_path)]) == 0


def test_prices_are_exact_decimals_scaled_to_1m_tokens(imported):
    books, _ = imported
    bedrock = next(b for b in books if b.provider == "bedrock").text
    assert "model ai21.j2-mid-v1 {\n    api   { input 12.5   output 12.5 }" in bedrock
    assert not re.search(r"\d[eE][-+]?\d", bedrock.split("book bedrock", 1)[1])  # no exponents
    converse = next(b for b in books if b.provider == "bedrock_converse").text
    assert "input 2.1875   cache_read 0.546875   input_audio 2.1875   input_image 2.1875   output 17.5" in converse


# --- quotes worked by hand ----------------------------------------------------------------------------------

def test_a_plain_chat_model(imported):
    # 1,000 input tokens at 1.25e-05 = 0.0125, 200 output tokens at 1.25e-05 = 0.0025
    assert _total(imported, "bedrock", "ai21.j2-mid-v1", input=1000) == Decimal("0.0125")
    assert _total(imported, "bedrock", "ai21.j2-mid-v1", input=1000, output=200) == Decimal("0.015")


def test_cache_reads_and_writes(imported):
    # 1,000 each of input 1e-06, cache_read 1e-07, cache_write 1.25e-06, cache_write_1h 2e-06, output 5e-06
    total = _total(imported, "bedrock_converse", "anthropic.claude-haiku-4-5-20251001-v1:0", input=1000,
                   cache_read=1000, cache_write=1000, cache_write_1h=1000, output=1000)
    assert total == Decimal("0.001") + Decimal("0.0001") + Decimal("0.00125") + Decimal("0.002") + Decimal("0.005")
    # nova 2 lite: 10,000 cached tokens at 7.5e-08 = 0.00075
    assert _total(imported, "bedrock_converse", "amazon.nova-2-lite-v1:0", input=0, cache_read=10_000) \
        == Decimal("0.00075")


def test_the_200k_tier_is_chosen_by_the_whole_prompt(imported):
    model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    # 200,000 prompt tokens stay in the first tier (3e-06 in, 1.5e-05 out); 200,001 are above (6e-06, 3e-05)
    assert _total(imported, "bedrock", model, input=200_000, output=1000) == Decimal("0.615")
    assert _total(imported, "bedrock", model, input=200_001, output=1000) == Decimal("1.230006")
    # cache hits count in the prompt: 150,000 + 50,001 = 200,001, every rate above 200k (cache read 6e-07)
    assert _total(imported, "bedrock", model, input=150_000, cache_read=50_001) == Decimal("0.9300006")
    assert _total(imported, "bedrock", model, input=150_000, cache_read=50_000) == Decimal("0.465")


def test_the_272k_tier(imported):
    # 272,000 at 7.5e-07 = 0.204; 272,001 at 1.5e-06 = 0.4080015
    assert _total(imported, "azure_ai", "azure_ai/gpt-5.4-mini", input=272_000) == Decimal("0.204")
    assert _total(imported, "azure_ai", "azure_ai/gpt-5.4-mini", input=272_001) == Decimal("0.4080015")


def test_audio_tokens(imported):
    # 1,000 audio in at 1.1e-05, 500 audio out at 2.2e-05, 100 text in at 6.6e-07
    total = _total(imported, "azure", "azure/eu/gpt-4o-mini-realtime-preview-2024-12-17",
                   input=100, input_audio=1000, output_audio=500)
    assert total == Decimal("0.000066") + Decimal("0.011") + Decimal("0.011")


def test_an_embedding_model_bills_no_output(imported):
    assert _total(imported, "bedrock", "amazon.titan-embed-text-v1", input=5000, output=0) == Decimal("0.0005")
    books, _ = imported
    assert "model amazon.titan-embed-text-v1 {\n    api   { input 0.1   output not billed }" in books[0].text


def test_images_queries_and_web_searches_in_their_units(imported):
    quote = _book(imported, "aiml").quote(region="api", model="aiml/dall-e-3", tokens={"generation": 2})
    assert quote.total == Decimal("0.104") and quote.lines[-1].unit == "images"  # 2 x 0.052
    assert _total(imported, "bedrock", "amazon.nova-canvas-v1:0", generation=3) == Decimal("0.18")
    assert _total(imported, "bedrock", "amazon.rerank-v1:0", search=5) == Decimal("0.005")  # 5 x 0.001
    # opus 4.1: 0.01 per web search whatever the context size; 3 searches and 1,000 input tokens at 1.5e-05
    assert _total(imported, "bedrock_converse", "anthropic.claude-opus-4-1-20250805-v1:0", input=1000,
                  web_search=3) == Decimal("0.045")


def test_a_free_model(imported):
    assert _total(imported, "bedrock", "anthropic.claude-mythos-preview", input=10**6, output=10**6) == 0


def test_a_request_option_is_refused_never_priced_as_standard(imported):
    with pytest.raises(ratecard.RatecardError) as raised:
        _book(imported, "azure_ai").quote(region="api", model="azure_ai/gpt-5.4-mini", tokens={"input": 1},
                                          variants="priority")
    assert raised.value.code == "E110"


# --- mechanisms on small files written here ---------------------------------------------------------------

def test_xai_thresholds_are_inclusive(tmp_path):
    books, _ = _import(tmp_path, {"xai/grok-test": {
        "litellm_provider": "xai", "input_cost_per_token": 2e-07, "output_cost_per_token": 5e-07,
        "input_cost_per_token_above_128k_tokens": 4e-07, "output_cost_per_token_above_128k_tokens": 1e-06}})
    assert "0 < T <= 127999" in books[0].text
    quote = books[0].book.quote
    assert quote(region="api", model="xai/grok-test", tokens={"input": 127_999}).total == Decimal("0.0255998")
    assert quote(region="api", model="xai/grok-test", tokens={"input": 128_000}).total == Decimal("0.0512")


def test_an_unpriced_part_is_counted_in_its_parent(tmp_path):
    books, _ = _import(tmp_path, {"m": {"litellm_provider": "p", "input_cost_per_token": 1e-06,
                                        "output_cost_per_token": 2e-06, "output_cost_per_reasoning_token": 3e-06}})
    assert "api   { input 1   output 2   output_reasoning 3 }" in books[0].text
    assert "cache_read tokens in input" not in books[0].text and "in its parent" in books[0].text


def test_perplexity_is_priced_by_its_own_calculator(tmp_path):
    books, report = _import(tmp_path, {"perplexity/m": {
        "litellm_provider": "perplexity", "input_cost_per_token": 2e-06, "output_cost_per_token": 8e-06,
        "citation_cost_per_token": 2e-06, "input_cost_per_token_above_200k_tokens": 4e-06}})
    assert "api   { input 2   output 8   citation 2 }" in books[0].text  # no tier: its calculator has none
    assert "does not read input_cost_per_token_above_200k_tokens" in report.entries[0].notes[0]


def test_fireworks_reads_cache_hits_at_half_the_input_price(tmp_path):
    books, report = _import(tmp_path, {"fireworks_ai/m": {"litellm_provider": "fireworks_ai",
                                                          "input_cost_per_token": 9e-07,
                                                          "output_cost_per_token": 9e-07}})
    assert "api   { input 0.9   cache_read 0.45   output 0.9 }" in books[0].text
    assert "half the input price" in report.entries[0].notes[0]


def test_aliases_repeated_keys_and_bad_entries(tmp_path):
    text = ('{"sample_spec": {}, "m": {"litellm_provider": "p", "input_cost_per_token": 1e-06}, '
            '"dup": {"litellm_provider": "p", "input_cost_per_token": 1e-06}, '
            '"dup": {"litellm_provider": "p", "input_cost_per_token": 2e-06}, '
            '"m-latest": {"alias_of": "m"}, "gone-latest": {"alias_of": "gone"}, "str": "x", '
            '"bad": {"litellm_provider": "p", "input_cost_per_token": "1e-06"}, '
            '"nothing": {"litellm_provider": "p", "mode": "chat"}}')
    path = tmp_path / "prices.json"
    path.write_text(text, encoding="utf-8")
    books, report = litellm.import_file(path)
    by_key = [(e.model, e.imported, e.category) for e in report.entries]
    assert ("m-latest", True, "") in by_key and "alias m-latest" in books[0].text
    assert ("dup", False, "duplicate key") in by_key and ("dup", True, "") in by_key
    assert ("gone-latest", False, "alias of a model not imported") in by_key
    assert ("str", False, "not an entry") in by_key
    assert ("bad", False, "malformed price") in by_key
    assert ("nothing", False, "no prices") in by_key
    assert len(report.entries) == 8


def test_web_search_by_context_size_and_time_of_day_are_reported(tmp_path):
    _, report = _import(tmp_path, {
        "a": {"litellm_provider": "p", "input_cost_per_token": 1e-06,
              "search_context_cost_per_query": {"search_context_size_low": 0.03, "search_context_size_medium": 0.035,
                                                "search_context_size_high": 0.05}},
        "b": {"litellm_provider": "p", "input_cost_per_token": 1e-06,
              "off_peak_pricing": {"hours_utc": "16:30-00:30", "input_cost_per_token": 5e-07}}})
    assert [e.category for e in report.entries] == ["web search fee by context size", "time-of-day price"]


def test_a_provider_not_in_the_file(tmp_path):
    with pytest.raises(ratecard.RatecardError) as raised:
        litellm.import_file(SAMPLE, ["no-such"])
    assert raised.value.code == "E551" and "bedrock" in raised.value.hint


# --- the command ---------------------------------------------------------------------------------------------

def test_cli_writes_books_and_report_atomically(tmp_path, capsys, monkeypatch):
    from ratecard.importers import common

    calls = []
    real = common.write_atomic
    monkeypatch.setattr(common, "write_atomic", lambda path, data: (calls.append(str(path)), real(path, data)))
    out, report = tmp_path / "books", tmp_path / "report.json"
    assert main(["import", "litellm", str(SAMPLE), "--provider", "bedrock", "--provider", "aiml",
                 "--out", str(out), "--report", str(report)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["aiml.rules", "bedrock.rules"]
    assert sorted(calls) == sorted([str(out / "aiml.rules"), str(out / "bedrock.rules"), str(report)])
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert format_text(text) == text
        ratecard.load(path)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert {e["provider"] for e in data["entries"]} == {"bedrock", "aiml"}
    assert data["summary"]["entries"] == 10 and data["summary"]["imported"] == 8
    assert "imported 8 of 10" in capsys.readouterr().err


def test_cli_markdown_report_by_default(tmp_path, capsys):
    assert main(["import", "litellm", str(SAMPLE), "--out", str(tmp_path)]) == 0
    text = (tmp_path / "import-report.md").read_text(encoding="utf-8")
    assert "15 of 19 catalogue entries imported" in text
    assert "- `azure/hd/1024-x-1024/dall-e-3`: NOT imported [per-pixel price]" in text


@pytest.mark.parametrize("content, code, words", [
    (None, "E553", "no such file"),
    ('{"a": ', "E554", "not valid JSON"),
    ("[1, 2]", "E554", "not an object of models"),
    (b"\xff\xfe{}", "E553", "cannot be read"),
])
def test_cli_unreadable_or_invalid_file(tmp_path, capsys, content, code, words):
    path = tmp_path / "prices.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["import", "litellm", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error[{code}]" in err and f"{path}: " in err and words in err and "help:" in err
    assert "Traceback" not in err and not out.exists()


def test_cli_litellm_needs_the_file_and_genai_prices_refuses_one(tmp_path, capsys):
    assert main(["import", "litellm", "--out", str(tmp_path)]) == 2
    assert "error[E010]: ratecard import litellm needs the file to read" in capsys.readouterr().err
    assert main(["import", "genai-prices", str(SAMPLE), "--out", str(tmp_path)]) == 2
    assert "error[E010]" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
