"""The whole front end in one call.

Takes a path, the name of a shipped book, or rules text, and gives a compiled
`PriceBook` (or raises `RulesError` carrying every diagnostic). `analyze` is
the same pipeline for `rulecheck`: it never raises, it returns the book (when
there is one) with all diagnostics, worked examples included.

    read (include.py) -> check (check.py) -> compile (compile.py) -> run examples (examples.py)
    (or, for a file compiled before and unchanged since, the cache: cache.py)
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from . import cache
from .errors import Diagnostic, InvalidArgument, RulesError
from .resources import rules_dir
from .source import Probe, Span
from .tables import PriceBook

if TYPE_CHECKING:
    from .include import Program

# The front end (parser, checker, compiler) is imported when a book is first
# compiled, not with the package: a book served from the cache needs none of it.

UNKNOWN_BOOK = "R006"


@attrs.frozen(slots=True)
class Analysis:
    program: Program
    book: PriceBook | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


_BOOK_STATEMENT = re.compile(r"^[ \t]*book\s", re.MULTILINE)


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector while a book is read, checked, compiled or unpickled.

    Those stages allocate millions of small objects, keep nearly all of them
    and make no reference cycles; each automatic collection would walk
    everything allocated so far, which made a 10 MB book take minutes.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def shipped_books() -> list[str]:
    """Names of the price books that ship with ratecard (files with a `book` statement, not shared includes).

    A look at the text, not a parse: the CLI lists these in its help, and
    parsing would load the whole front end just to print it.
    """
    return sorted(p.stem for p in rules_dir().glob("*.rules") if _BOOK_STATEMENT.search(p.read_text(encoding="utf-8")))


def resolve_book_path(path_or_name: str | Path) -> Path:
    """A path as given, or the shipped book of that name."""
    path = Path(path_or_name)
    if path.exists() or path.suffix == ".rules" or len(path.parts) > 1:
        return path
    shipped = rules_dir() / f"{path_or_name}.rules"
    return shipped if shipped.is_file() else path


def analyze_program(program: Program, run_examples: bool = True) -> Analysis:
    from .check import check
    from .compile import compile_program
    with collector_paused():
        diagnostics = check(program)
        if any(d.is_error for d in diagnostics):
            return Analysis(program, None, tuple(diagnostics))
        book = compile_program(program)
    if run_examples:
        from .examples import run_examples as run
        diagnostics += run(book, program)
    return Analysis(program, book, tuple(diagnostics))


def read(path: str | Path, allow_outside_root: bool = False) -> Program:
    """Read and parse a rules file and its includes (`include.read_program`)."""
    from .include import read_program
    with collector_paused():
        return read_program(path, allow_outside_root)


def _require_path(value: object, name: str = "path_or_name") -> None:
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise InvalidArgument(f"{name} must be a path or a shipped book's name, not {value!r}",
                              "pass 'emr-starrocks-ai-function' or 'rules/my-book.rules'")


def analyze(path_or_name: str | Path, allow_outside_root: bool = False) -> Analysis:
    _require_path(path_or_name)
    from .include import Program
    path = resolve_book_path(path_or_name)
    if not path.exists():
        hint = "shipped books: " + ", ".join(shipped_books())
        diagnostic = Diagnostic(UNKNOWN_BOOK, f"no rules file or shipped book named '{path_or_name}'",
                                Span.whole(str(path_or_name)), hint)
        return Analysis(Program(str(path), (), {}, ()), None, (diagnostic,))
    return analyze_program(read(path, allow_outside_root))


def load_program(program: Program) -> PriceBook:
    """The book of a program read already (from text, or from other `include.Files` such as a git revision),
    compiled as `load` compiles a file, not cached; any error diagnostic raises `RulesError`."""
    return _book_or_raise(analyze_program(program, run_examples=False))


def _book_or_raise(analysis: Analysis) -> PriceBook:
    if analysis.book is None or analysis.errors:
        raise RulesError(analysis.diagnostics, analysis.program.sources)
    return analysis.book


def load(path_or_name: str | Path, allow_outside_root: bool = False) -> PriceBook:
    """Load a `.rules` file, or a shipped book by name (`"emr-starrocks-ai-function"`).

    Worked examples are not run here (`rulecheck` runs them); any error
    diagnostic raises `RulesError`. A compiled book is cached on disk (see
    `cache.py`) and reused while none of the files it came from has changed.
    """
    _require_path(path_or_name)
    path = resolve_book_path(path_or_name)
    if not path.exists():
        return _book_or_raise(analyze(path_or_name))
    with collector_paused():
        book = cache.fetch(path, allow_outside_root)
        if book is None:
            book, probes = _compile(path, allow_outside_root)
            cache.store(path, allow_outside_root, probes, book)  # the AST is let go first: it is not stored
    return book


def _compile(path: Path, allow_outside_root: bool) -> tuple[PriceBook, tuple[Probe, ...]]:
    """The book compiled from `path` (worked examples not run), and the probes of the files it was read from."""
    analysis = analyze_program(read(path, allow_outside_root), run_examples=False)
    return _book_or_raise(analysis), analysis.program.probes


def loads(text: str, name: str = "<string>", base_dir: str | Path | None = None,
          allow_outside_root: bool = False) -> PriceBook:
    """Compile rules given as text; includes resolve against `base_dir` (default: cwd), then the shipped rules."""
    if not isinstance(text, str):
        raise InvalidArgument(f"loads takes the rules as text, not {type(text).__name__}",
                              "decode bytes first (rules files are UTF-8), or pass a path to ratecard.load")
    if base_dir is not None:
        _require_path(base_dir, "base_dir")
    from .include import read_text_program
    with collector_paused():
        program = read_text_program(text, name, base_dir, allow_outside_root)
    return load_program(program)
