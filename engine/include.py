"""Reading a rules file and everything it includes.

Takes the path (or text) of a root `.rules` file and gives a `Program`: every
file parsed and built into an AST, includes first, with their `Source`s kept
for error excerpts, plus the diagnostics met on the way (a syntax error, an
include that is missing, unreadable, cyclic, or escapes the rules root), and
a `Probe` of every path looked at, so that a cache can tell whether reading
the program again would find the same files.

An include is resolved relative to the including file, then in the shipped
`rules/` directory, so that any book can `include "alibaba-regions.rules"`.
Absolute paths and paths that climb out of the root's directory with `..` are
refused unless `allow_outside_root` is set. An include that cannot be read is
one error: the program is then marked incomplete, and the checker does not
echo it with an "unknown region" for every name the file would have declared.

Files are read from the file system unless `read_program` is given other
`Files` (a git revision: `revisions.py`), which then serve the root and its
includes alike.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Protocol

import attrs

from . import ast
from .errors import Diagnostic
from .parse import parse
from .resources import rules_dir
from .source import Probe, Source, Span, decode_rules, look

UNREADABLE = "R002"
INCLUDE_CYCLE = "R003"
INCLUDE_ESCAPES = "R004"


class Files(Protocol):
    """Where a program's files are read from: the file system, or another store of paths (a git revision)."""

    def look(self, path: Path) -> tuple[Probe, bytes | None, OSError | None]:
        """The bytes at `path` (or the error that kept them), with the probe that records the look."""

    def display(self, path: Path) -> str:
        """How diagnostics name the file at `path`."""


class FileSystem:
    """The files of the file system, named relative to the current directory when they are under it."""

    def look(self, path: Path) -> tuple[Probe, bytes | None, OSError | None]:
        return look(path)

    def display(self, path: Path) -> str:
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)


FILE_SYSTEM = FileSystem()


@attrs.frozen(slots=True)
class Program:
    root: str
    files: tuple[ast.RulesFile, ...]  # includes before their includer
    sources: dict[str, Source]
    diagnostics: tuple[Diagnostic, ...]
    complete: bool = True  # False: an included file could not be read or parsed, so names may be missing
    probes: tuple[Probe, ...] = ()  # every path looked at, found or not, in order

    @property
    def root_file(self) -> ast.RulesFile | None:
        return next((f for f in self.files if f.path == self.root), None)


def read_program(path: str | Path, allow_outside_root: bool = False, files: Files = FILE_SYSTEM,
                 name: str | None = None) -> Program:
    """Read and parse `path` and its includes from `files`; diagnostics name the root `name` (default: the path)."""
    path = Path(path)
    name = str(path) if name is None else name
    reader = _Reader(path.resolve().parent, allow_outside_root, files)
    found, data, error = files.look(path.absolute())
    reader.probes.append(found)
    text = _decoded(data, error, name)
    del data  # a big book's bytes are not kept while its text is parsed
    if isinstance(text, tuple):
        message, hint = text
        return Program(name, (), {}, (Diagnostic(UNREADABLE, message, Span.whole(name), hint),),
                       True, tuple(reader.probes))
    reader.add(name, text, path.resolve(), ())
    return reader.program(name)


def read_text_program(text: str, name: str = "<string>", base_dir: str | Path | None = None,
                      allow_outside_root: bool = False) -> Program:
    """Read and parse rules given as text; includes resolve against `base_dir` (default: cwd)."""
    base = Path(base_dir or Path.cwd()).resolve()
    reader = _Reader(base, allow_outside_root)
    reader.add(name, text.removeprefix("\ufeff"), base / "<string>", ())
    return reader.program(name)


def _decoded(data: bytes | None, error: OSError | None, name: str) -> str | tuple[str, str]:
    """The text of a file, or why it cannot be had: (message, hint)."""
    if error is not None:
        if error.errno == errno.EISDIR:
            return f"{name} is a directory, not a rules file", "name a .rules file"
        return f"cannot read {name}: {error.strerror or error}", "check the path and its permissions"
    try:
        return decode_rules(data)
    except UnicodeDecodeError as bad:
        line = data.count(b"\n", 0, bad.start) + 1
        return f"{name} is not UTF-8 text (byte 0x{data[bad.start]:02x} on line {line})", "save the file as UTF-8"


class _Reader:
    def __init__(self, root_dir: Path, allow_outside_root: bool, files: Files = FILE_SYSTEM) -> None:
        self.root_dir = root_dir
        self.allow_outside_root = allow_outside_root
        self.store = files
        self.files: list[ast.RulesFile] = []
        self.sources: dict[str, Source] = {}
        self.diagnostics: list[Diagnostic] = []
        self.probes: list[Probe] = []
        self.done: set[Path] = set()
        self.complete = True

    def program(self, root: str) -> Program:
        return Program(root, tuple(self.files), dict(self.sources), tuple(self.diagnostics), self.complete,
                       tuple(self.probes))

    def add(self, name: str, text: str, resolved: Path, chain: tuple[Path, ...]) -> bool:
        """Parse one file and, first, what it includes; False when it does not parse."""
        self.sources[name] = Source(name, text)
        rules_file = parse(text, name)
        if isinstance(rules_file, list):
            self.diagnostics.extend(rules_file)
            return False
        for include in rules_file.all(ast.Include):
            self._include(include, resolved, chain + (resolved,))
        self.done.add(resolved)
        self.files.append(rules_file)
        return True

    def _include(self, include: ast.Include, includer: Path, chain: tuple[Path, ...]) -> None:
        found = self._find(include, includer)
        if found is None:
            self.complete = False
            return
        target, data = found
        if target in chain:
            cycle = " -> ".join(p.name for p in chain[chain.index(target):] + (target,))
            self._error(INCLUDE_CYCLE, f"include cycle: {cycle}", include,
                        "remove one of these includes; shared definitions belong in a file that includes nothing")
            return
        if target in self.done:
            return
        text = _decoded(data, None, f"included file '{include.path}'")
        if isinstance(text, tuple):
            self._error(UNREADABLE, text[0], include, text[1])
            self.complete = False
        elif not self.add(self._display(target), text, target, chain):
            self.complete = False

    def _find(self, include: ast.Include, includer: Path) -> tuple[Path, bytes] | None:
        """The real path and bytes of an included file (next to its includer, else shipped), or None after an error."""
        if "\0" in include.path:  # no file system takes it: say so here, before a path call raises
            self._error(UNREADABLE, f"include {include.path!r} contains a NUL character", include,
                        "name the file with printable characters")
            return None
        requested = Path(include.path)
        if requested.is_absolute() and not self.allow_outside_root:
            self._error(INCLUDE_ESCAPES, f"include '{include.path}' is an absolute path", include,
                        "name the file relative to the including file")
            return None
        candidate = includer.parent / requested
        if not self.allow_outside_root and not candidate.resolve().is_relative_to(self.root_dir):
            self._error(INCLUDE_ESCAPES, f"include '{include.path}' leaves the directory of the book being checked",
                        include, "keep included files in that directory or below it")
            return None
        shipped = rules_dir().resolve()
        places = [candidate]
        if not requested.is_absolute() and (shipped / requested).resolve().is_relative_to(shipped):
            places.append(shipped / requested)
        for place in places:
            probe, data, error = self.store.look(place)
            self.probes.append(probe)
            if data is not None:
                return Path(probe.resolved), data
            if error.errno not in (errno.ENOENT, errno.ENOTDIR):  # there, but unreadable: say so, look no further
                message, hint = _decoded(None, error, f"included file '{include.path}'")
                self._error(UNREADABLE, message, include, hint)
                return None
        self._error(UNREADABLE, f"included file '{include.path}' not found", include,
                    "looked next to the including file and in the shipped rules directory")
        return None

    def _display(self, target: Path) -> str:
        return self.store.display(target)

    def _error(self, code: str, message: str, node: ast.Include, hint: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, node.span, hint))
