"""The compiled-book cache: used while nothing changed, never stale, and harmless when broken."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

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


# --- never stale: include resolution is part of what an entry depends on -----------------------------

SHIPPED_INCLUDE = """
include "alibaba-regions.rules"
book local "Local" {
  currency USD
  price per 1K tokens
  cycle hourly in UTC
  round 6 half-up
  model m { us-east-1 { input 0.5 output 1 } }
}
"""


def test_an_include_added_next_to_the_book_later_is_seen(tmp_path, monkeypatch):
    # Compiled when "alibaba-regions.rules" was found in the shipped directory; a file of that name then
    # appears next to the book, and a fresh compile would read that one.
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    book_path = tmp_path / "b.rules"
    book_path.write_text(SHIPPED_INCLUDE)
    assert ratecard.load(book_path).regions["us-east-1"].display_names[0] == "US (Virginia)"
    (tmp_path / "alibaba-regions.rules").write_text('region us-east-1 "Over here"\n')
    assert ratecard.load(book_path).regions["us-east-1"].display_names == ("Over here",)


def test_an_entry_records_every_path_looked_at(book_dir):
    ratecard.load(book_dir / "b.rules")
    from ratecard.include import read_program
    program = read_program(book_dir / "b.rules")
    looked_at = {Path(p.path).name for p in program.probes}
    assert looked_at == {"b.rules", "regions.rules"}


def test_a_book_with_a_bom_is_served_from_the_cache(book_dir, monkeypatch):
    (book_dir / "b.rules").write_bytes(b"\xef\xbb\xbf" + BOOK.replace("PRICE", "0.5").encode())
    assert price(book_dir / "b.rules") == Decimal("0.5")
    import ratecard.loader
    monkeypatch.setattr(ratecard.loader, "analyze_program", lambda *a, **k: pytest.fail("compiled again"))
    assert price(book_dir / "b.rules") == Decimal("0.5")


# --- one atomic writer: nothing is left behind when a write fails ------------------------------------

@pytest.mark.parametrize("failing", ["os.replace", "os.fsync"])
def test_a_failed_cache_write_leaves_no_temporary_file(book_dir, monkeypatch, failing):
    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(failing, fail)
    assert price(book_dir / "b.rules") == Decimal("0.5")  # the load itself never fails
    monkeypatch.undo()
    assert [p.name for p in (book_dir / "cache").iterdir()] == []


# --- a cache directory someone else can write to is not trusted ------------------------------------

class _Planted:
    """Unpickling this creates `marker`: proof that the cache ran code it found on disk."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def plant(book_dir: Path) -> Path:
    """A hostile entry where the cache would look for b.rules; returns the marker it would create."""
    import pickle
    marker = book_dir / "code-ran"
    entry = cache.entry_path(book_dir / "b.rules", False)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_bytes(pickle.dumps(_Planted(marker)))
    return marker


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_world_writable_cache_directory_is_not_used(book_dir):
    marker = plant(book_dir)
    (book_dir / "cache").chmod(0o777)
    assert price(book_dir / "b.rules") == Decimal("0.5")
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_cache_directory_of_another_user_is_not_used(book_dir, monkeypatch):
    marker = plant(book_dir)
    (book_dir / "cache").chmod(0o700)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(book_dir / "cache").st_uid + 1)
    assert price(book_dir / "b.rules") == Decimal("0.5")
    assert not marker.exists()


def test_an_entry_that_would_run_code_is_refused_even_in_a_safe_directory(book_dir):
    marker = plant(book_dir)
    (book_dir / "cache").chmod(0o700)
    assert price(book_dir / "b.rules") == Decimal("0.5")
    assert not marker.exists()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_the_cache_directory_is_created_private(book_dir):
    price(book_dir / "b.rules")
    assert (book_dir / "cache").stat().st_mode & 0o777 == 0o700


# --- Lark's parse tables are cached (and unpickled) only in the private directory, never in /tmp ------

@pytest.fixture
def fresh_parser():
    from ratecard import parse
    parse.parser.cache_clear()
    parse.quick_parser.cache_clear()
    yield parse.parser
    parse.parser.cache_clear()
    parse.quick_parser.cache_clear()


def test_lark_keeps_its_tables_in_the_private_cache_directory(tmp_path, monkeypatch, fresh_parser):
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    fresh_parser()
    assert [p.name for p in (tmp_path / "cache").iterdir()] == ["lark.tables"]


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_lark_caches_nothing_in_a_directory_others_can_write_to(tmp_path, monkeypatch, fresh_parser):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(shared))
    fresh_parser()
    assert list(shared.iterdir()) == []
    assert fresh_parser().options.cache is False


def test_the_quick_pass_runs_with_lark_tables_read_back_from_the_cache(tmp_path, monkeypatch, fresh_parser):
    from ratecard import parse
    monkeypatch.setenv("RATECARD_CACHE_DIR", str(tmp_path / "cache"))
    fresh_parser()
    parse.parser.cache_clear()
    parse.quick_parser.cache_clear()
    assert fresh_parser().source_path == "<deserialized>"
    assert parse.quick_parser() is not None
