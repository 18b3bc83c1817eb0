"""`ratecard explain`: walk one usage record through the book, step by step.

Takes a book and one record, given as JSON (`--record '{...}'`) or as a line
of a usage file (`--usage FILE --line N`, the physical line as `ratecard bill`
numbers it in its rejects), and prints `ratecard.trace`'s walk of it: region,
group, table, tier, each rate, quota, trial and total, each with the line of
the book that decided it and the exact arithmetic, or the step where the
record was rejected and why. Exit 0 when the record is billed, 1 when it is
rejected, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `explain` subcommand to `ratecard`'s parser."""
    from .ratecard import _zone  # the same --assume-tz as `bill` (ratecard.py is loaded: it is calling us)
    explain = commands.add_parser(
        "explain", help="walk one usage record through the book: why it costs what it costs",
        description="Explain one record's charge: region -> group -> table -> tier -> rates -> quota -> trial -> "
                    "total, each step with the line of the book that decided it and the exact arithmetic; a "
                    "rejected record is explained up to the step that rejected it. Exit 0 billed, 1 rejected.")
    explain.add_argument("book", metavar="BOOK", help="a .rules file or the name of a shipped book")
    record = explain.add_mutually_exclusive_group(required=True)
    record.add_argument("--record", metavar="JSON",
                        help="the record as one JSON object, with the fields of a usage record (the quota is a "
                             "fresh account's)")
    record.add_argument("--usage", metavar="FILE",
                        help="a usage file (CSV with a header, or JSON Lines); with --line, the record on that line, "
                             "with the free quota its account has left in that file's bill")
    explain.add_argument("--line", type=_line_number, metavar="N",
                         help="with --usage: the record's physical line, counted from 1 (a CSV header is line 1)")
    explain.add_argument("--input-format", choices=("csv", "jsonl"), help="the format of --usage (default: by suffix)")
    explain.add_argument("--currency", help="currency of the charge (default: the book's first)")
    explain.add_argument("--assume-tz", metavar="TZ", type=_zone,
                         help="zone for timestamps without an offset, e.g. UTC+8 (default: reject them)")
    explain.add_argument("--format", choices=("text", "json"), default="text")
    explain.set_defaults(run=run, parser=explain)


def _line_number(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a line number (1, 2, ...)")
    return int(text)


def run(args: argparse.Namespace) -> int:
    from ..loader import load
    from ..trace import explain_json, explain_line, trace_dict, trace_text
    from .ratecard import _check_currency
    if (args.usage is None) != (args.line is None):
        args.parser.error("--usage and --line go together")
    book = load(args.book)
    _check_currency(book, args.currency)
    if args.record is not None:
        trace = explain_json(book, args.record, currency=args.currency, assume_tz=args.assume_tz)
    else:
        trace = explain_line(book, args.usage, args.line, currency=args.currency, assume_tz=args.assume_tz,
                             input_format=args.input_format)
    if args.format == "json":
        sys.stdout.write(json.dumps(trace_dict(trace), indent=2) + "\n")
    else:
        sys.stdout.write(trace_text(trace))
    return 0 if trace.billed else 1
