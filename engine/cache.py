"""A disk cache of compiled price books.

Takes the path of a rules file and gives the `PriceBook` compiled from it
before, when every file it was compiled from (the book and its includes) is
byte for byte unchanged and the engine is the same; otherwise None, and the
caller compiles. Loading a cached book needs neither Lark nor the checker, so
`ratecard.load` and the CLI start faster. Like Python's own `__pycache__`, a
stale entry is never used: each entry records the SHA-256 of every source
file, and the key includes a fingerprint of the engine's code and grammar.

The cache lives in `$RATECARD_CACHE_DIR`, else `$XDG_CACHE_HOME/ratecard`,
else `~/.cache/ratecard`; `RATECARD_CACHE_DIR=off` turns it off. Any failure
to read or write it is ignored: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from .resources import grammar_path
from .tables import PriceBook, readonly

if TYPE_CHECKING:
    from .include import Program

_FORMAT = 1


def cache_dir() -> Path | None:
    configured = os.environ.get("RATECARD_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ratecard"


@lru_cache(maxsize=None)
def _engine_fingerprint() -> str:
    """Changes whenever the engine's code or grammar could compile a book differently."""
    digest = hashlib.sha256(f"format {_FORMAT}".encode())
    digest.update(grammar_path().read_bytes())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        stat = module.stat()
        digest.update(f"{module.name} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def _entry(path: Path, allow_outside_root: bool) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(f"{_engine_fingerprint()} {path.resolve()} {allow_outside_root}".encode()).hexdigest()
    return folder / f"{key[:32]}.pickle"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch(path: Path, allow_outside_root: bool = False) -> PriceBook | None:
    try:
        entry = _entry(path, allow_outside_root)
        if entry is None or not entry.is_file():
            return None
        with open(entry, "rb") as handle:
            sources, book = pickle.load(handle)
        if any(_digest(Path(source).read_bytes()) != digest for source, digest in sources):
            return None
        return _thaw(book)
    except Exception:  # a cache that cannot be read is a cache miss
        return None


def store(path: Path, allow_outside_root: bool, program: Program, book: PriceBook) -> None:
    try:
        entry = _entry(path, allow_outside_root)
        if entry is None:
            return
        sources = [(str(Path(name).resolve()), _digest(source.text.encode("utf-8")))
                   for name, source in program.sources.items()]
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            pickle.dump((sources, _freeze(book)), out, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(temporary, entry)
    except Exception:  # never fail a load because the cache could not be written
        return


def _freeze(book: PriceBook) -> PriceBook:
    """Read-only mapping proxies do not pickle; store their dicts."""
    return attrs.evolve(book, regions=dict(book.regions), groups=dict(book.groups), models=dict(book.models))


def _thaw(book: PriceBook) -> PriceBook:
    return attrs.evolve(book, regions=readonly(book.regions), groups=readonly(book.groups),
                        models=readonly(book.models))
