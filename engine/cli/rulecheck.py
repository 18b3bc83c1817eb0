"""`rulecheck`: validate price books before they bill anyone.

Takes `.rules` files or directories (default `rules/`), parses and checks every
book and runs its worked examples, and gives diagnostics on stdout in text,
JSON, GitHub-annotation or SARIF form. Exit codes: 0 clean, 1 findings (warnings only
with `--strict`), 2 a usage error or unreadable input, 70 a bug in rulecheck
(the traceback is saved, see `crash.py`), 130 interrupted, 141 the reader of
the output went away (`rulecheck | head`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__, ast
from ..errors import Diagnostic
from ..explain import explain
from ..include import Program
from ..loader import analyze, analyze_program, collector_paused, read
from ..source import Source, Span
from .crash import report_crash
from .render import diagnostic_dict, diagnostic_github, diagnostic_text
from .sarif import sarif_log

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rulecheck", description="Validate ratecard price books.")
    parser.add_argument("paths", nargs="*", default=["rules"], metavar="PATH",
                        help=".rules files or directories (default: rules/)")
    parser.add_argument("--strict", action="store_true", help="warnings fail too")
    parser.add_argument("--version", action="version", version=f"rulecheck (ratecard {__version__})")
    parser.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text")
    parser.add_argument("--explain", metavar="BOOK",
                        help="print the book as the engine understands it (a path or a shipped book's name)")
    args = parser.parse_args(argv)
    try:
        if args.explain:
            status = _explain(args.explain)
        else:
            with collector_paused():  # one pause for the whole run: see `collector_paused`
                status = _check(args)
        sys.stdout.flush()  # here, not at exit, where a closed pipe could only be reported as a traceback
        return status
    except BrokenPipeError:  # `rulecheck | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush at exit
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        print("rulecheck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: say so, keep the traceback, and exit apart from findings
        return report_crash("rulecheck", error)


def _check(args: argparse.Namespace) -> int:
    files, missing = _collect(args.paths)
    sources: dict[str, Source] = {}
    diagnostics: list[Diagnostic] = []
    books = 0
    for path in files:  # one at a time: a book's AST and tables are let go before the next is read
        program = read(path)
        if _is_shared_file(program):
            continue
        books += 1
        diagnostics += analyze_program(program).diagnostics
        sources.update(program.sources)
    diagnostics += missing
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    _report(args.format, sources, diagnostics, books)
    summary = f"rulecheck: {books} book(s) checked, {errors} error(s), {warnings} warning(s)"
    print(summary, file=sys.stderr if args.format in ("json", "sarif") else sys.stdout)
    if missing or any(d.code == "R002" and d.span.line == 0 for d in diagnostics):
        return EXIT_USAGE
    if errors or (args.strict and warnings):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def _explain(path_or_name: str) -> int:
    analysis = analyze(path_or_name)
    if analysis.book is None:
        for diagnostic in analysis.diagnostics:
            print(diagnostic_text(diagnostic, analysis.program.sources))
        return EXIT_USAGE if any(d.code in ("R002", "R006") for d in analysis.diagnostics) else EXIT_FINDINGS
    print(explain(analysis.book), end="")
    return EXIT_CLEAN


def _collect(paths: Sequence[str]) -> tuple[list[Path], list[Diagnostic]]:
    files, missing = [], []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(path.rglob("*.rules"))
        elif path.exists():
            files.append(path)
        else:
            missing.append(Diagnostic("R002", f"no such file or directory: {name}", Span.whole(name),
                                      "pass a .rules file or a directory of them"))
    return files, missing


def _is_shared_file(program: Program) -> bool:
    """A file of shared regions, with no book: it is checked through the books that include it."""
    root = program.root_file
    return root is not None and bool(root.items) and not root.all(ast.Book)


def _report(form: str, sources: dict[str, Source], diagnostics: list[Diagnostic], books: int) -> None:
    if form == "json":
        print(json.dumps({"books": books, "diagnostics": [diagnostic_dict(d) for d in diagnostics]}, indent=2))
    elif form == "sarif":
        print(json.dumps(sarif_log(diagnostics), indent=2))
    elif form == "github":
        for diagnostic in diagnostics:
            print(diagnostic_github(diagnostic))
    else:
        for diagnostic in diagnostics:
            print(diagnostic_text(diagnostic, sources))


if __name__ == "__main__":
    sys.exit(main())
