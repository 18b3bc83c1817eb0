"""`ratecard page`: write a book's price page (HTML or Markdown).

Takes a book (a path or a shipped book's name), a format, an output path and
optionally one currency, and gives the book's price page (`ratecard.page`) on
standard output or in `--out`, written atomically; `--out` may not name a file
the book is read from. Exit codes are `ratecard`'s: 0 written, 2 a usage error,
an invalid book or a file that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FORMATS = ("html", "markdown")
MARKDOWN_SUFFIXES = (".md", ".markdown")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `page` subcommand to `ratecard`'s parser."""
    page = commands.add_parser(
        "page", help="write the price page of a book (HTML or Markdown)",
        description="Write the price page of a book, generated from the compiled book: billing rules, cycle, "
                    "prices per model and region group, notes and the worked examples computed by the engine. "
                    "HTML is one self-contained file (no network) with a chart per price table.")
    page.add_argument("book", metavar="BOOK", help="a .rules file or the name of a shipped book")
    page.add_argument("--format", choices=FORMATS,
                      help="html or markdown (default: markdown when --out ends in .md or .markdown, else html)")
    page.add_argument("--out", metavar="PATH", help="write the page here, atomically (default, or -: standard output)")
    page.add_argument("--currency", help="show prices in this currency only (default: every currency of the book)")
    page.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..atomic import WriteError, write_atomic
    from ..loader import load
    from ..page import page_html, page_markdown
    from .outputs import single_output

    book = load(args.book)
    out = single_output(args.out, [args.book, *book.source_files])
    form = args.format or default_format(out)
    text = (page_html if form == "html" else page_markdown)(book, args.currency)
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(out, text)
    except OSError as error:
        raise WriteError.of(out, error) from error
    return 0


def default_format(out: Path | None) -> str:
    """Markdown for a file named .md or .markdown, else HTML."""
    return "markdown" if out is not None and out.suffix.lower() in MARKDOWN_SUFFIXES else "html"
