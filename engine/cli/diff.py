"""`ratecard diff`: compare two price books, and what the change does to bills.

Takes two books as the command line names them (a `.rules` path, a shipped
book's name, or `REV:PATH` read through git), optional usage files and a
format, and gives the diff on stdout: `diff.diff_books`, with `--usage`
`diff.bill_impact`, rendered by `cli/diff_render.py`. Exit 0 when nothing
changed, 1 when something did, 2 on an error.
"""

from __future__ import annotations

import argparse

EXIT_SAME, EXIT_CHANGED = 0, 1

_DESCRIPTION = """\
Compare two price books: every price that changed (model, region or group, tier, token type, currency:
old -> new and the change in percent), tiers split or merged, regions added, removed, renamed or moved
between groups, models added or removed, settings, quota and trial changes, and worked examples whose
result changes. With --usage, both books bill the same usage and the diff shows the bill impact per
account, model and region, and the records only one book can price.

OLD and NEW are .rules files, shipped book names, or REV:PATH to read a book (and its includes) as a git
revision has it, e.g. HEAD:rules/my-book.rules (PATH from the repository's top, or ./PATH from here)."""

_EPILOG = """\
exit status: 0 nothing changed (prices, structure, examples and, with --usage, the bills); 1 something
changed; 2 an error (a book that does not load, a bad revision, an unreadable usage file).

example: ratecard diff HEAD:rules/my-book.rules rules/my-book.rules --usage last-month.csv --format markdown"""


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `diff` subcommand to `ratecard`'s parser."""
    diff = commands.add_parser("diff", help="compare two price books, and what the change does to bills",
                               description=_DESCRIPTION, epilog=_EPILOG,
                               formatter_class=argparse.RawDescriptionHelpFormatter)
    diff.add_argument("old", metavar="OLD", help="the book before: a .rules file, a shipped book, or REV:PATH")
    diff.add_argument("new", metavar="NEW", help="the book after: a .rules file, a shipped book, or REV:PATH")
    diff.add_argument("--usage", metavar="FILE", nargs="+", default=None,
                      help="usage files (.csv with a header, or .jsonl) that both books bill")
    diff.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                      help="text (default), json (money as strings), markdown (for a pull-request comment)")
    diff.add_argument("--currency", help="currency both bills are in (default: the old book's first that the new "
                                         "book prices in too)")
    diff.add_argument("--assume-tz", metavar="TZ", type=_zone,
                      help="zone for usage timestamps without an offset, e.g. UTC+8 (default: reject them)")
    diff.set_defaults(run=run)


def _zone(text: str):
    from ..moments import parse_zone
    try:
        return parse_zone(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def run(args: argparse.Namespace) -> int:
    from ..diff import bill_impact, diff_books
    from ..records import read_usage
    from ..revisions import load_book
    from .diff_render import render_json, render_markdown, render_text
    old, new = load_book(args.old), load_book(args.new)
    diff = diff_books(old, new)
    impact = None
    if args.usage is not None:
        impact = bill_impact(old, new, read_usage(args.usage), currency=args.currency, assume_tz=args.assume_tz)
    render = {"text": render_text, "json": render_json, "markdown": render_markdown}[args.format]
    print(render(diff, impact, args.old, args.new).rstrip("\n"))
    return EXIT_CHANGED if diff.changed or (impact is not None and impact.changed) else EXIT_SAME
