"""A disk cache of compiled price books.

Takes the path of a rules file and gives the `PriceBook` compiled from it
before, when reading the book again would find exactly the same files and the
engine is the same; otherwise None, and the caller compiles. Loading a cached
book needs neither Lark nor the checker, so `ratecard.load` and the CLI start
faster. Like Python's own `__pycache__`, a stale entry is never used: each
entry records every path the reader looked at to find the book and its
includes (`Probe`s: the bytes found there, or that nothing was there), and is
used only while every one of them looks the same again, so an include that
appears next to a book later, or a symlink pointed elsewhere, makes a miss.
The key includes a fingerprint of the engine's code and grammar.

The cache lives in `cachedir.cache_dir()` (`$RATECARD_CACHE_DIR`, else
`$XDG_CACHE_HOME/ratecard`, else `~/.cache/ratecard`; `RATECARD_CACHE_DIR=off`
turns it off). It is created private (0700), and is used only while it
belongs to the user and no one else may write to it; even then an entry is
unpickled with only the classes a price book is made of, so a planted file
cannot run code. Entries are written atomically (`atomic.write_atomic`). Any
failure to read or write the cache is ignored: it only ever saves time.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from functools import cache
from pathlib import Path

import attrs

from . import tables
from .cachedir import cache_dir, is_private, private_dir
from .resources import grammar_path
from .source import Probe, Span, probe
from .tables import PriceBook, readonly
from .moments import ClockWindow
from .units import Unit

_FORMAT = 3


@cache
def _engine_fingerprint() -> str:
    """Changes whenever the engine's code or grammar could compile a book differently."""
    digest = hashlib.sha256(f"format {_FORMAT}".encode())
    digest.update(grammar_path().read_bytes())
    for module in sorted(Path(__file__).parent.glob("*.py")):
        stat = module.stat()
        digest.update(f"{module.name} {stat.st_size} {stat.st_mtime_ns}".encode())
    return digest.hexdigest()


def entry_path(path: Path, allow_outside_root: bool) -> Path | None:
    """Where the entry for a book would be (whether or not the cache may be used)."""
    folder = cache_dir()
    if folder is None:
        return None
    key = hashlib.sha256(f"{_engine_fingerprint()} {path.resolve()} {allow_outside_root}".encode()).hexdigest()
    return folder / f"{key[:32]}.pickle"


def fetch(path: Path, allow_outside_root: bool = False) -> PriceBook | None:
    try:
        entry = entry_path(path, allow_outside_root)
        if entry is None or not entry.is_file() or not is_private(entry.parent):
            return None
        probes, book = _BookUnpickler(io.BytesIO(entry.read_bytes())).load()
        if not all(probe(Path(p.path)) == p for p in probes):
            return None
        return _thaw(book)
    except Exception:  # a cache that cannot be read is a cache miss
        return None


def store(path: Path, allow_outside_root: bool, probes: tuple[Probe, ...], book: PriceBook) -> None:
    """Keep `book`, compiled from the files the `probes` found, for the next load of `path`."""
    from .atomic import write_atomic
    try:
        entry = entry_path(path, allow_outside_root)
        if entry is None or not probes or private_dir() is None:
            return
        buffer = io.BytesIO()
        _BookPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump((probes, _freeze(book)))
        write_atomic(entry, buffer.getvalue())
    except Exception:  # never fail a load because the cache could not be written
        return


class _BookPickler(pickle.Pickler):
    """Pickles a price book's attrs objects as their class and field values.

    attrs would pickle each one's state as a dict, which the pickler keeps
    until it is done: for a big book, hundreds of megabytes of dicts and seconds of time.
    """

    def reducer_override(self, obj):
        names = _FIELDS.get(type(obj))
        if names is None:
            return NotImplemented
        return type(obj), tuple(getattr(obj, name) for name in names)


class _BookUnpickler(pickle.Unpickler):
    """Unpickles what a price book is made of, and nothing else: no function a planted file could call."""

    def find_class(self, module: str, name: str):
        if module in _ALLOWED and name in _ALLOWED[module]:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a price book")


_FIELDS = {cls: tuple(field.name for field in attrs.fields(cls))
           for cls in (tables.PriceBook, tables.Region, tables.UnitPrice, tables.RateUnit, tables.Tier,
                       tables.TierTable, tables.Offer, tables.Quota, tables.Trial, tables.Example, tables.Variant,
                       Unit, ClockWindow, Span, Probe)}

_ALLOWED = {
    "ratecard.tables": {"PriceBook", "Region", "UnitPrice", "RateUnit", "Tier", "TierTable", "Offer", "Quota",
                        "Trial", "Example", "Variant"},
    "ratecard.units": {"Unit"},
    "ratecard.moments": {"ClockWindow"},
    "ratecard.source": {"Span", "Probe"},
    "decimal": {"Decimal"},
    "datetime": {"datetime", "timezone", "timedelta"},
    "builtins": {"frozenset", "set"},
}


#: The fields of a PriceBook that compile makes read-only proxies (`tables.readonly`).
_READONLY_FIELDS = ("regions", "groups", "models", "aliases", "units", "meter_columns", "variants")


def _freeze(book: PriceBook) -> PriceBook:
    """Read-only mapping proxies do not pickle; store their dicts."""
    return attrs.evolve(book, **{name: dict(getattr(book, name)) for name in _READONLY_FIELDS})


def _thaw(book: PriceBook) -> PriceBook:
    return attrs.evolve(book, **{name: readonly(getattr(book, name)) for name in _READONLY_FIELDS})
