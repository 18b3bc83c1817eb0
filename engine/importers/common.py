"""What every importer shares: names, numbers, atomic writing and the report."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path

from ..atomic import write_atomic
from ..errors import RatecardError

#: A model, region or book name of the language.
NAME = re.compile(r"[@~]?[A-Za-z_][A-Za-z0-9_]*(?:[-./:@][A-Za-z0-9_]+)*\Z")


class SourceMissing(RatecardError):
    """The importer cannot run: its source is missing or the request names nothing it has."""

    code = "E550"


class UnknownProvider(RatecardError):
    code = "E551"


class ImportWriteError(RatecardError):
    code = "E552"


class CatalogueUnreadable(RatecardError):
    """A catalogue file is missing or cannot be read as UTF-8 text."""

    code = "E553"


class CatalogueInvalid(RatecardError):
    """A catalogue file is not in its format: invalid JSON, or not the object of entries it should be."""

    code = "E554"


def is_name(text: str) -> bool:
    return bool(NAME.match(text))


def make_name(text: str) -> str:
    """`text` made a valid name: other characters become `_`, runs of separators collapse."""
    name = re.sub(r"[^A-Za-z0-9_\-./:@]", "_", text)
    name = re.sub(r"[-./:@]+(?=[-./:@])", "", name).strip("-./:@")
    if not name or not (name[0].isalpha() or name[0] == "_"):
        name = "_" + name
    return name if is_name(name) else re.sub(r"[^A-Za-z0-9_]", "_", name)


def number(value: Decimal) -> str:
    """A price as the language writes it: the exact decimal, no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def quoted(text: str) -> str | None:
    """`text` as a string literal, or None when it holds a character a title should not carry."""
    if any(ch in text for ch in '"\\\n\r\t') or not text.isprintable():
        return None
    return f'"{text}"'


@dataclass
class Entry:
    """One catalogue entry (a provider's model) and what became of it."""

    provider: str
    model: str
    imported: bool
    reason: str = ""  # why it was not imported (empty when it was)
    category: str = ""  # a short key grouping the reasons
    notes: list[str] = field(default_factory=list)  # what was imported but narrower than the catalogue


@dataclass
class Report:
    source: str
    entries: list[Entry] = field(default_factory=list)
    books: dict[str, str] = field(default_factory=dict)  # provider -> file name

    def imported(self) -> list[Entry]:
        return [e for e in self.entries if e.imported]

    def categories(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for e in self.entries:
            if not e.imported:
                counts[e.category] = counts.get(e.category, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def as_json(self) -> str:
        return json.dumps({"source": self.source, "books": self.books,
                           "summary": self.summary(),
                           "entries": [asdict(e) for e in self.entries]}, indent=2) + "\n"

    def summary(self) -> dict:
        total, done = len(self.entries), len(self.imported())
        return {"entries": total, "imported": done, "not_imported": total - done,
                "share_imported": f"{100 * done / total:.1f}%" if total else "n/a",
                "not_imported_by_reason": self.categories()}

    def as_markdown(self) -> str:
        s = self.summary()
        lines = [f"# Import report: {self.source}", "",
                 f"{s['imported']} of {s['entries']} catalogue entries imported ({s['share_imported']}); "
                 f"{s['not_imported']} not imported.", "", "## Not imported, by reason", ""]
        lines += [f"- {cat}: {n}" for cat, n in s["not_imported_by_reason"].items()] or ["- none"]
        by_provider: dict[str, list[Entry]] = {}
        for e in self.entries:
            by_provider.setdefault(e.provider, []).append(e)
        for provider, entries in by_provider.items():
            book = self.books.get(provider)
            lines += ["", f"## {provider}" + (f" ({book})" if book else " (no book: nothing imported)"), ""]
            for e in entries:
                if e.imported:
                    lines.append(f"- `{e.model}`: imported" + "".join(f"; {n}" for n in e.notes))
                else:
                    lines.append(f"- `{e.model}`: NOT imported [{e.category}]: {e.reason}")
        return "\n".join(lines) + "\n"


def write_files(out: Path, files: dict[str, str]) -> list[Path]:
    """Write each `name -> text` under `out`, each atomically (a reader sees the old file or the new one)."""
    from ..atomic import WriteError

    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            path = out / name
            write_atomic(path, text)
            written.append(path)
    except (WriteError, OSError) as error:
        raise ImportWriteError(f"cannot write the imported books: {error}",
                               "choose a writable directory with --out") from None
    return written


@dataclass
class ProviderBook:
    """One provider's imported book: its text, the models in it (the importer's own specs) and the loaded book."""

    provider: str
    file: str
    text: str
    models: list
    book: object = None


def first_error(error: RatecardError) -> str:
    """The first diagnostic of a book that does not load, as a report line says it."""
    diagnostics = getattr(error, "diagnostics", None)
    if diagnostics:
        return f"{diagnostics[0].code} {diagnostics[0].message}"
    return str(error)
