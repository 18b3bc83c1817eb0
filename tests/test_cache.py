"""The compiled-book cache: used while nothing changed, never stale, and harmless when broken."""

from __future__ import annotations

from decimal import Decimal

import pytest

import ratecard
from ratecard import cache

BOOK = """
include "regions.rules"
book cached "Cached" {
  currency USD
  price per 1K tokens
  cycle hourly in UTC
  round 6 half-up
  model m { here { input PRICE output 1 } }
}
"""


@pytest.fixture
def book_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "regions.rules").write_text('region here "Here"\n')
    (tmp_path / "b.rules").write_text(BOOK.replace("PRICE", "0.5"))
    return tmp_path


def price(path) -> Decimal:
    return ratecard.load(path).quote(region="here", model="m", tokens={"input": 1000}).total


def test_a_second_load_comes_from_the_cache(book_dir, monkeypatch):
    assert price(book_dir / "b.rules") == Decimal("0.5")
    assert len(list((book_dir / "cache").glob("*.pickle"))) == 1
    import ratecard.loader
    monkeypatch.setattr(ratecard.loader, "analyze_program", lambda *a, **k: pytest.fail("compiled again"))
    assert price(book_dir / "b.rules") == Decimal("0.5")


def test_an_edited_book_or_include_is_compiled_again(book_dir):
    assert price(book_dir / "b.rules") == Decimal("0.5")
    (book_dir / "b.rules").write_text(BOOK.replace("PRICE", "0.7"))
    assert price(book_dir / "b.rules") == Decimal("0.7")
    (book_dir / "regions.rules").write_text('region here "Here"\nregion there "There"\n')
    assert "there" in ratecard.load(book_dir / "b.rules").regions


def test_a_broken_cache_is_ignored(book_dir):
    price(book_dir / "b.rules")
    for entry in (book_dir / "cache").glob("*.pickle"):
        entry.write_bytes(b"not a pickle")
    assert price(book_dir / "b.rules") == Decimal("0.5")


def test_the_cache_can_be_turned_off(book_dir, monkeypatch):
    monkeypatch.setenv("RATECARD_CACHE_DIR", "off")
    assert cache.cache_dir() is None
    assert price(book_dir / "b.rules") == Decimal("0.5")
    assert not (book_dir / "cache").exists()


def test_a_cached_book_is_still_read_only(book_dir):
    price(book_dir / "b.rules")
    book = ratecard.load(book_dir / "b.rules")
    with pytest.raises(TypeError):
        book.regions["x"] = None
