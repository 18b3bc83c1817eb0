"""`ratecard import genai-prices` and `ratecard import litellm FILE`: price books from another catalogue.

Reads the installed `genai-prices` package's data, or LiteLLM's `model_prices_and_context_window.json`
given as FILE (never the network), writes one formatted `.rules` book per provider under `--out`
(default `imported/`), each loaded before it is written and written atomically, and a report
(`--report`, default `<out>/import-report.md`; `.json` for JSON) listing every catalogue entry:
imported, or not with the exact reason. Exit codes: 0 the books and report are written, 2 the
source is missing or unreadable, a provider is unknown, the command is misused, or writing fails.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SOURCES = ("genai-prices", "litellm")


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `import` subcommand to `ratecard`'s parser."""
    cmd = commands.add_parser(
        "import", help="write price books from another price catalogue (genai-prices, litellm)",
        description="Write one .rules book per provider, and a report of every entry: imported, or not, with "
                    "the reason. genai-prices: the installed catalogue, each model quoting exactly what "
                    "genai_prices.calc_price says (needs the import extra: pip install 'ratecard[import]'). "
                    "litellm: LiteLLM's model_prices_and_context_window.json, given as FILE, one book per "
                    "litellm_provider.")
    cmd.add_argument("source", choices=SOURCES, help="the catalogue to import")
    cmd.add_argument("file", nargs="?", type=Path, metavar="FILE",
                     help="litellm only: the model_prices_and_context_window.json to read")
    cmd.add_argument("--provider", action="append", metavar="ID", default=[],
                     help="import only this provider (repeatable; default: every provider)")
    cmd.add_argument("--out", type=Path, default=Path("imported"), metavar="DIR",
                     help="directory for the books (default: imported)")
    cmd.add_argument("--report", type=Path, metavar="PATH",
                     help="the report: .json for JSON, else Markdown (default: DIR/import-report.md)")
    cmd.add_argument("--no-verify", action="store_true",
                     help="genai-prices only: skip quoting each model against calc_price before writing it")
    cmd.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from ..importers.common import write_files

    books, report = _import(args)
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


def _import(args: argparse.Namespace):
    """The books and report of the chosen source, or a UsageError when FILE does not fit it."""
    from .outputs import UsageError

    if args.source == "litellm":
        from ..importers.litellm import import_file

        if args.file is None:
            raise UsageError("ratecard import litellm needs the file to read",
                             "ratecard import litellm model_prices_and_context_window.json")
        if args.no_verify:
            raise UsageError("--no-verify is for genai-prices: the litellm import has no proof to skip")
        return import_file(args.file, args.provider or None)
    from ..importers.genai_prices import import_catalogue

    if args.file is not None:
        raise UsageError(f"ratecard import genai-prices reads the installed catalogue, not a file ({args.file})",
                         "leave the file out, or import it with: ratecard import litellm FILE")
    return import_catalogue(args.provider or None, verify=0 if args.no_verify else 1)
