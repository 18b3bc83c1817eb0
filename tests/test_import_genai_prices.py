"""`ratecard import genai-prices`: every imported model quotes exactly what genai_prices.calc_price says.

The proof quotes each imported model on seeded usages (zero counts, each tier edge exactly and
+-1, both sides of each price change, a few random ones) with ratecard and with calc_price and
asserts the same exact Decimal. RATECARD_IMPORT_EXAMPLES=N multiplies the random usages (long runs
by hand); the default keeps this file to a few seconds.
"""

from __future__ import annotations

import json
import os
import random
from decimal import Decimal

import pytest

genai_prices = pytest.importorskip("genai_prices")

import ratecard  # noqa: E402
from ratecard.cli.ratecard import main  # noqa: E402
from ratecard.fmt import format_text  # noqa: E402
from ratecard.importers import genai_prices as importer  # noqa: E402

EXTRA = int(os.environ.get("RATECARD_IMPORT_EXAMPLES", "1"))


@pytest.fixture(scope="module")
def imported():
    return importer.import_catalogue(verify=0)  # the proof below is the verification


def test_every_book_loads_and_is_formatted(imported):
    books, report = imported
    assert books
    for b in books:
        assert format_text(b.text) == b.text, b.file
        book = ratecard.loads(b.text)
        assert {m.id for m in b.models} <= set(book.models), b.file


def test_every_entry_is_imported_or_reported_with_a_reason(imported):
    books, report = imported
    _, providers, _ = importer.catalogue()
    assert len(report.entries) == sum(len(p.models) for p in providers)
    for e in report.entries:
        assert e.imported or (e.reason and e.category), e


def test_the_proof_ratecard_quotes_what_calc_price_says(imported, capsys):
    books, report = imported
    _, providers, _ = importer.catalogue()
    by_id = {p.id: p for p in providers}
    checked = quotes = 0
    failures = []
    for b in books:
        provider = by_id[b.provider]
        for spec in b.models:
            rng = random.Random(f"proof/{b.provider}/{spec.id}")
            for tokens, at, context in importer.cases(spec, rng, EXTRA):
                expected = importer.calc_total(provider, spec, tokens, at, context)
                got = importer.ratecard_total(b.book, spec, tokens, at, context)
                assert isinstance(got, Decimal) and isinstance(expected, Decimal)
                quotes += 1
                if got != expected:
                    failures.append(f"{b.provider}/{spec.id} {tokens} at {at} {context}: {got} != {expected}")
                    break
            checked += 1
    entries = len(report.entries)
    agreeing = checked - len(failures)
    with capsys.disabled():
        print(f"\ngenai-prices {genai_prices.__version__}: {agreeing} of {entries} provider-model entries import "
              f"and agree ({100 * agreeing / entries:.1f}%), {quotes} quotes compared")
        for cat, n in report.categories().items():
            print(f"  not imported, {cat}: {n}")
    assert not failures, "\n".join(failures[:20])


def test_tier_edges_and_price_changes_are_exercised(imported):
    books, _ = imported
    specs = [s for b in books for s in b.models]
    tiered = [s for s in specs if s.bounds]
    dated = [s for s in specs if s.dates]
    assert tiered and dated
    spec = tiered[0]
    totals = {sum(t[k] for k in spec.input_types) for t, _ in importer.usages(spec, random.Random(0))}
    for bound in spec.bounds:
        assert {bound - 1, bound, bound + 1} <= totals
    spec = dated[0]
    moments = {at for _, at in importer.usages(spec, random.Random(0))}
    for d in spec.dates:
        assert any(at.date() < d for at in moments) and any(at.date() >= d for at in moments)


def test_a_known_tier_and_a_known_change(imported):
    """Spot checks written out: the long-context cliff priced whole, and a dated change on one rate."""
    books, _ = imported
    for b in books:
        for spec in b.models:
            if spec.bounds and len(spec.input_types) > 1:
                bound = spec.bounds[0]
                provider = next(p for p in importer.catalogue()[1] if p.id == b.provider)
                for total in (bound, bound + 1):
                    tokens = {t: 0 for t in spec.counted}
                    tokens[spec.input_types[0]] = total - 1
                    tokens[spec.input_types[1]] = 1
                    at = "2026-06-01T12:00Z"
                    from datetime import UTC, datetime
                    expected = importer.calc_total(provider, spec, tokens, datetime(2026, 6, 1, 12, tzinfo=UTC))
                    assert b.book.quote(region="api", model=spec.id, tokens=tokens, at=at).total == expected
                return
    pytest.fail("no model tiered by a sum of token types")


def test_reported_reasons_are_exact(imported):
    _, report = imported
    reasons = {e.category: e.reason for e in report.entries if not e.imported}
    if "time-of-day price" in reasons:
        assert "each day" in reasons["time-of-day price"]
    if "non-token unit" in reasons:
        assert "prices " in reasons["non-token unit"] and "_" in reasons["non-token unit"]
    if "ID is not a name" in reasons:
        assert "is not a ratecard name" in reasons["ID is not a name"]
    if "price not exact per unit" in reasons:
        assert "is no exact decimal" in reasons["price not exact per unit"]


def _spec(imported, provider: str, model: str):
    books, _ = imported
    book = next(b for b in books if b.provider == provider)
    return book, next(s for s in book.models if s.id == model)


def test_a_request_fee_and_web_searches_are_imported_in_their_units(imported):
    """Perplexity as genai-prices 0.2.5 prices it: Sonar $1 / $1 per 1M tokens and $12 per 1K requests; Sonar
    Deep Research $2 / $8 per 1M tokens, reasoning $3, citations $2, and $5 per 1K web searches."""
    book, sonar = _spec(imported, "perplexity", "sonar")
    assert sonar.block("api").splitlines()[1] == "  api { input 1   output 1   request 12 per 1K requests }"
    assert sonar.fees == ["request"] and "request" not in sonar.counted
    quote = book.book.quote(region="api", model="sonar", tokens={"input": 1000, "output": 1000}, requests=2)
    assert quote.total == Decimal("0.028")  # 2 x (0.001 + 0.001) + 2 x 12 / 1000
    book, research = _spec(imported, "perplexity", "sonar-deep-research")
    assert research.usage_keys["web"] == "web_searches" and research.rate_units["web"] == " per 1K searches"
    quote = book.book.quote(region="api", model="sonar-deep-research", tokens={"input": 0, "web": 3})
    assert quote.total == Decimal("0.015") and quote.lines[-1].unit == "searches"


def test_audio_priced_per_hour_is_written_per_second_only_when_exact(imported):
    book, _ = imported
    texts = "\n".join(b.text for b in book)
    assert " per second" in texts
    for b in book:
        for spec in b.models:
            for meter, unit in spec.rate_units.items():
                if unit == " per second":  # priced per hour by the catalogue: the per-second price x 3600 is it
                    assert spec.usage_keys[meter].endswith("_seconds")


# --- the command ---------------------------------------------------------------------------------------

def test_cli_imports_one_provider(tmp_path, capsys, monkeypatch):
    from ratecard.importers import common

    calls = []
    real = common.write_atomic
    monkeypatch.setattr(common, "write_atomic", lambda path, data: (calls.append(str(path)), real(path, data)))
    out = tmp_path / "books"
    report = tmp_path / "report.json"
    assert main(["import", "genai-prices", "--provider", "anthropic", "--provider", "openai",
                 "--out", str(out), "--report", str(report)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["anthropic.rules", "openai.rules"]
    assert sorted(calls) == sorted([str(out / "anthropic.rules"), str(out / "openai.rules"), str(report)])
    assert not [p for p in tmp_path.rglob("*") if "tmp" in p.name]
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert format_text(text) == text
        ratecard.load(path)
    data = json.loads(report.read_text(encoding="utf-8"))
    assert {e["provider"] for e in data["entries"]} == {"anthropic", "openai"}
    assert all(e["imported"] or e["reason"] for e in data["entries"])
    openai = (out / "openai.rules").read_text(encoding="utf-8")
    assert "  variant service_tier = " in openai and "    variant flex {" in openai  # service tiers imported
    assert "anthropic" in data["books"]


def test_cli_markdown_report_by_default(tmp_path, capsys):
    assert main(["import", "genai-prices", "--provider", "deepseek", "--out", str(tmp_path)]) == 0
    text = (tmp_path / "import-report.md").read_text(encoding="utf-8")
    assert "NOT imported [time-of-day price]" not in text  # DeepSeek's hours are windows now
    assert "window utc-0030-to-1630 = 00:30 to 16:30 in UTC" in (tmp_path / "deepseek.rules").read_text()
    assert "imported" in capsys.readouterr().err


def test_cli_unknown_provider(tmp_path, capsys):
    assert main(["import", "genai-prices", "--provider", "no-such", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error[E551]" in err and "'no-such'" in err and "anthropic" in err
    assert not list(tmp_path.iterdir())


def test_cli_without_genai_prices(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "genai_prices", None)
    assert main(["import", "genai-prices", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error[E550]" in err and "pip install 'ratecard[import]'" in err


def test_cli_unwritable_out(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert main(["import", "genai-prices", "--provider", "anthropic", "--out", str(blocker)]) == 2
    assert "error[E552]" in capsys.readouterr().err
    assert blocker.read_text(encoding="utf-8") == "x"


def test_the_engine_does_not_import_the_importers():
    import subprocess
    import sys

    code = ("import sys, ratecard, ratecard.cli.ratecard as c; c._parser(); "
            "print([m for m in sys.modules if m.startswith(('ratecard.importers', 'genai_prices'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_service_tiers_and_batch_are_imported_as_variants(imported):
    """genai-prices 0.2.5 prices gpt-5 at $1.25 input / $10 output per 1M; Flex at $0.625 / $5 from 2026-10-12 (no
    Flex price before: calc_price then uses the standard one), Batch the same from 2026-10-14. OpenAI's models list
    service_tier and processing in both orders, so the book makes the two fields exclusive."""
    book, spec = _spec(imported, "openai", "gpt-5")
    assert [(v.field, v.value) for v in spec.variants] == [
        ("service_tier", "default"), ("service_tier", "flex"), ("service_tier", "priority"),
        ("service_tier", "fast"), ("processing", "batch")]
    assert "  exclusive processing, service_tier\n" in book.text
    tokens = {t: 0 for t in spec.counted} | {"input": 1_000_000, "output": 100_000}

    def total(at, variants):
        return book.book.quote(region="api", model="gpt-5", tokens=tokens, at=at, variants=variants).total
    assert total("2026-11-01T00:00Z", ()) == Decimal("2.25")
    assert total("2026-11-01T00:00Z", "flex") == total("2026-11-01T00:00Z", "batch") == Decimal("1.125")
    assert total("2026-10-11T23:59:59Z", "flex") == Decimal("2.25")
    with pytest.raises(ratecard.RatecardError) as raised:
        total("2026-11-01T00:00Z", ("flex", "batch"))
    assert raised.value.code == "E110"


def test_deepseeks_hours_are_imported_as_windows_and_quote_as_calc_price():
    """genai-prices 0.2.5 prices deepseek-chat at $0.135 input per 1M tokens, and at $0.27 from 00:30 to 16:30 UTC
    (a TimeOfDateConstraint after the plain price); deepseek-v4-flash has two such windows and dated prices."""
    from datetime import UTC, datetime
    books, report = importer.import_catalogue(["deepseek"])
    (book,) = books
    assert "  window utc-0030-to-1630 = 00:30 to 16:30 in UTC\n" in book.text
    assert "    variant utc-0030-to-1630 {\n      api   { input 0.27   cache_read 0.07   output 1.1 }" in book.text
    assert all(entry.imported for entry in report.entries if entry.model.startswith(("deepseek-chat", "deepseek-v4")))
    provider = next(p for p in importer.catalogue()[1] if p.id == "deepseek")
    chat = next(spec for spec in book.models if spec.id == "deepseek-chat")
    tokens = {"input": 1_000_000, "cache_read": 0, "output": 0}
    for at, total in [(datetime(2026, 6, 1, 0, 29, 59, 999999, tzinfo=UTC), Decimal("0.135")),
                      (datetime(2026, 6, 1, 0, 30, tzinfo=UTC), Decimal("0.27")),
                      (datetime(2026, 6, 1, 16, 29, tzinfo=UTC), Decimal("0.27")),
                      (datetime(2026, 6, 1, 16, 30, tzinfo=UTC), Decimal("0.135"))]:
        assert importer.calc_total(provider, chat, tokens, at) == total
        assert book.book.quote(region="api", model="deepseek-chat", tokens=tokens, at=at).total == total
