"""`ratecard import genai-prices`: price books from another catalogue (`ratecard.importers`).

Reads the installed `genai-prices` package's data (never the network), writes one formatted
`.rules` book per provider under `--out` (default `imported/`), each loaded before it is written
and written atomically, and a report (`--report`, default `<out>/import-report.md`; `.json` for
JSON) listing every catalogue entry: imported, or not with the exact reason. Exit codes: 0 the
books and report are written, 2 the source is missing, a provider is unknown, or writing fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SOURCES = ("genai-prices",)


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `import` subcommand to `ratecard`'s parser."""
    cmd = commands.add_parser(
        "import", help="write price books from another price catalogue (genai-prices)",
        description="Write one .rules book per provider from the installed genai-prices catalogue, and a "
                    "report of every entry: imported (quoting exactly what genai_prices.calc_price says), or "
                    "not, with the reason. Needs the import extra: pip install 'ratecard[import]'.")
    cmd.add_argument("source", choices=SOURCES, help="the catalogue to import")
    cmd.add_argument("--provider", action="append", metavar="ID", default=[],
                     help="import only this provider (repeatable; default: every provider)")
    cmd.add_argument("--out", type=Path, default=Path("imported"), metavar="DIR",
                     help="directory for the books (default: imported)")
    cmd.add_argument("--report", type=Path, metavar="PATH",
                     help="the report: .json for JSON, else Markdown (default: DIR/import-report.md)")
    cmd.add_argument("--no-verify", action="store_true",
                     help="skip quoting each model against calc_price before writing it")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..importers.common import write_files
    from ..importers.genai_prices import import_catalogue

    books, report = import_catalogue(args.provider or None, verify=0 if args.no_verify else 1)
    report_path = args.report or args.out / "import-report.md"
    written = write_files(args.out, {b.file: b.text for b in books})
    text = report.as_json() if report_path.suffix == ".json" else report.as_markdown()
    write_files(report_path.parent, {report_path.name: text})
    s = report.summary()
    for path in written:
        print(path)
    print(f"ratecard: imported {s['imported']} of {s['entries']} catalogue entries ({s['share_imported']}) "
          f"into {len(written)} books; the rest, with reasons, in {report_path}", file=sys.stderr)
    return 0
