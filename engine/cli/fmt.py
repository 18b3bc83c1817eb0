"""`ratecard fmt`: lay out rules files in the one canonical layout (`ratecard.fmt`).

Takes paths (`.rules` files, directories searched for them, `-` for standard
input; default `rules`) and rewrites each file that is not formatted yet, in
place and atomically, naming it on stdout; `--check` only names the files that
would change and `--diff` shows how, both without writing. A file that does
not parse is left as it is and its diagnostics go to stderr. Standard input is
formatted to stdout. Exit codes: 0 every file is formatted (now), 1 a file does
not parse, or would change under `--check` or `--diff`, 2 a path that cannot
be read or written (the error names it).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..atomic import WriteError, write_atomic
from ..errors import RatecardError, RulesError
from ..source import decode_rules
from .render import diagnostic_text

EXIT_FORMATTED, EXIT_CHANGES, EXIT_UNREADABLE = 0, 1, 2
STDIN = "-"


class UnreadableFile(RatecardError):
    code = "E500"


class NoSuchPath(RatecardError):
    code = "E501"


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `fmt` subcommand to `ratecard`'s parser."""
    fmt = commands.add_parser(
        "fmt", help="lay out rules files in the canonical format",
        description="Lay out .rules files in the one canonical layout (docs/fmt.md): rewrite each file that "
                    "changes and name it. Only whitespace changes; a file that does not parse is left alone.")
    fmt.add_argument("paths", nargs="*", default=["rules"], metavar="PATH",
                     help=".rules files or directories of them (default: rules); - formats standard input to "
                          "standard output")
    fmt.add_argument("--check", action="store_true",
                     help="write nothing: name the files that are not formatted, exit 1 if there are any")
    fmt.add_argument("--diff", action="store_true",
                     help="write nothing: show what formatting would change as a unified diff, exit 1 if anything")
    fmt.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..fmt import format_text  # the parser loads only when the command runs: `ratecard --help` stays quick

    status = EXIT_FORMATTED
    for path in _files(args.paths):
        name = "<stdin>" if path is None else str(path)
        data = sys.stdin.buffer.read() if path is None else _read(path)
        text = _decode(data, name)
        try:
            formatted = format_text(text, name)
        except RulesError as error:
            for diagnostic in error.diagnostics:
                print(diagnostic_text(diagnostic, error.sources), file=sys.stderr)
            status = EXIT_CHANGES
            continue
        changed = formatted.encode("utf-8") != data
        if path is None and not (args.check or args.diff):
            sys.stdout.write(formatted)
            continue
        if not changed:
            continue
        if args.check or not args.diff:
            print(name)
        if args.diff:
            sys.stdout.writelines(_unified_diff(text, formatted, name))
        if args.check or args.diff:
            status = EXIT_CHANGES
        else:
            _write(path, formatted)
    return status


def _files(paths: list[str]) -> list[Path | None]:
    """The files to format, in order (None: standard input); every path is looked at before any is written."""
    files: list[Path | None] = []
    for name in paths:
        path = Path(name)
        if name == STDIN:
            files.append(None)
        elif path.is_dir():
            files += sorted(path.rglob("*.rules"))
        elif path.exists():
            files.append(path)
        else:
            raise NoSuchPath(f"no such file or directory: {name}", "pass .rules files, directories of them, or -")
    return files


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise UnreadableFile(f"cannot read {path}: {error.strerror or error}") from None


def _decode(data: bytes, name: str) -> str:
    try:
        return decode_rules(data)
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"cannot read {name}: it is not UTF-8 text ({error.reason} at byte {error.start})",
                             "rules files are UTF-8; save it as UTF-8") from None


def _write(path: Path, formatted: str) -> None:
    """Replace the file (the one a link points to) whole, keeping its permissions."""
    target = path.resolve()
    try:
        mode = target.stat().st_mode
        write_atomic(target, formatted)
        os.chmod(target, mode)
    except OSError as error:
        raise WriteError.of(path, error) from None


def _unified_diff(old: str, new: str, name: str) -> list[str]:
    import difflib
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                 f"a/{name}", f"b/{name}")
    return [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]
