"""Reading a rules file and everything it includes.

Takes the path (or text) of a root `.rules` file and gives a `Program`: every
file parsed and built into an AST, includes first, with their `Source`s kept
for error excerpts, plus the diagnostics met on the way (a syntax error, an
include that is missing, cyclic, or escapes the rules root).

An include is resolved relative to the including file, then in the shipped
`rules/` directory, so that any book can `include "alibaba-regions.rules"`.
Absolute paths and paths that climb out of the root's directory with `..` are
refused unless `allow_outside_root` is set.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from . import ast
from .build import build
from .errors import Diagnostic
from .parse import parse
from .resources import rules_dir
from .source import Source, Span

UNREADABLE = "R002"
INCLUDE_CYCLE = "R003"
INCLUDE_ESCAPES = "R004"


@attrs.frozen(slots=True)
class Program:
    root: str
    files: tuple[ast.RulesFile, ...]  # includes before their includer
    sources: dict[str, Source]
    diagnostics: tuple[Diagnostic, ...]

    @property
    def root_file(self) -> ast.RulesFile | None:
        return next((f for f in self.files if f.path == self.root), None)


def read_program(path: str | Path, allow_outside_root: bool = False) -> Program:
    """Read and parse `path` and its includes."""
    path = Path(path)
    reader = _Reader(path.resolve().parent, allow_outside_root)
    try:
        text = read_text(path)
    except OSError as error:
        diagnostic = Diagnostic(UNREADABLE, f"cannot read {path}: {error.strerror or error}",
                                Span.whole(str(path)), "check the path and its permissions")
        return Program(str(path), (), {}, (diagnostic,))
    except UnicodeDecodeError:
        diagnostic = Diagnostic(UNREADABLE, f"{path} is not UTF-8 text", Span.whole(str(path)),
                                "save the file as UTF-8")
        return Program(str(path), (), {}, (diagnostic,))
    reader.add(str(path), text, path.resolve(), ())
    return reader.program(str(path))


def read_text_program(text: str, name: str = "<string>", base_dir: str | Path | None = None,
                      allow_outside_root: bool = False) -> Program:
    """Read and parse rules given as text; includes resolve against `base_dir` (default: cwd)."""
    base = Path(base_dir or Path.cwd()).resolve()
    reader = _Reader(base, allow_outside_root)
    reader.add(name, text, base / "<string>", ())
    return reader.program(name)


def read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


class _Reader:
    def __init__(self, root_dir: Path, allow_outside_root: bool) -> None:
        self.root_dir = root_dir
        self.allow_outside_root = allow_outside_root
        self.files: list[ast.RulesFile] = []
        self.sources: dict[str, Source] = {}
        self.diagnostics: list[Diagnostic] = []
        self.done: set[Path] = set()

    def program(self, root: str) -> Program:
        return Program(root, tuple(self.files), dict(self.sources), tuple(self.diagnostics))

    def add(self, name: str, text: str, resolved: Path, chain: tuple[Path, ...]) -> None:
        self.sources[name] = Source(name, text)
        tree = parse(text, name)
        if isinstance(tree, list):
            self.diagnostics.extend(tree)
            return
        rules_file = build(tree, name)
        for include in rules_file.all(ast.Include):
            self._include(include, resolved, chain + (resolved,))
        self.done.add(resolved)
        self.files.append(rules_file)

    def _include(self, include: ast.Include, includer: Path, chain: tuple[Path, ...]) -> None:
        target = self._resolve(include, includer)
        if target is None:
            return
        if target in chain:
            cycle = " -> ".join(p.name for p in chain[chain.index(target):] + (target,))
            self._error(INCLUDE_CYCLE, f"include cycle: {cycle}", include,
                        "remove one of these includes; shared definitions belong in a file that includes nothing")
            return
        if target in self.done:
            return
        try:
            text = read_text(target)
        except (OSError, UnicodeDecodeError) as error:
            self._error(UNREADABLE, f"cannot read included file '{include.path}': {error}", include,
                        "the file must be UTF-8 text")
            return
        self.add(self._display(target), text, target, chain)

    def _resolve(self, include: ast.Include, includer: Path) -> Path | None:
        requested = Path(include.path)
        if requested.is_absolute() and not self.allow_outside_root:
            self._error(INCLUDE_ESCAPES, f"include '{include.path}' is an absolute path", include,
                        "name the file relative to the including file")
            return None
        candidate = (includer.parent / requested).resolve()
        if not self.allow_outside_root and not candidate.is_relative_to(self.root_dir):
            self._error(INCLUDE_ESCAPES, f"include '{include.path}' leaves the directory of the book being checked",
                        include, "keep included files in that directory or below it")
            return None
        if candidate.is_file():
            return candidate
        shipped = (rules_dir() / requested).resolve()
        if not requested.is_absolute() and shipped.is_relative_to(rules_dir().resolve()) and shipped.is_file():
            return shipped
        self._error(UNREADABLE, f"included file '{include.path}' not found", include,
                    "looked next to the including file and in the shipped rules directory")
        return None

    def _display(self, target: Path) -> str:
        try:
            return str(target.relative_to(Path.cwd()))
        except ValueError:
            return str(target)

    def _error(self, code: str, message: str, node: ast.Include, hint: str) -> None:
        self.diagnostics.append(Diagnostic(code, message, node.span, hint))
