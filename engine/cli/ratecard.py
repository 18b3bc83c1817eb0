"""`ratecard`: quote requests and bill usage from the command line.

Takes command-line arguments and gives a quote or a bill on stdout. Exit codes:
0 done, 1 the request or some records could not be priced (stderr says why),
2 a usage error, an invalid rules file or a file that cannot be read or
written, 70 an internal error (a bug; the traceback is saved to a file).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import sys
from datetime import timezone
from pathlib import Path
from typing import Callable, Sequence, TextIO

from .. import __version__
from ..billing import RecordRejected
from ..errors import PricingError, RatecardError, RulesError
from ..loader import load, shipped_books
from ..moments import parse_moment, parse_zone
from ..money import plain, round_amount
from ..quote import Quote, require_currency
from ..records import UsageFiles, UsageMeters, parse_count, parse_requests, read_usage
from ..tables import PriceBook
from ..writers import FORMATS, write_bill

#: The commands of the price-change workflow, one module each under `ratecard.cli`, each with a
#: `register(commands)` that adds its subparser (and imports nothing heavy until it runs).
WORKFLOW_COMMANDS = ("fmt", "diff", "page", "explain", "lsp")
DIALECTS = ("duckdb", "spark", "databricks", "starrocks", "postgres", "snowflake", "bigquery", "trino")
from .crash import report_crash
from .outputs import BillOutputs, UsageError, plan_outputs
from .progress import progress_display
from .render import diagnostic_text

EXIT_OK, EXIT_UNPRICED, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except RulesError as error:
        for diagnostic in error.diagnostics:
            print(diagnostic_text(diagnostic, error.sources), file=sys.stderr)
        return EXIT_USAGE
    except (PricingError, RecordRejected) as error:
        _fail(error)
        return EXIT_UNPRICED
    except RatecardError as error:
        _fail(error)
        return EXIT_USAGE
    except UnicodeDecodeError as error:
        _fail(UsageError(f"a usage file is not UTF-8 text ({error.reason})", "save it as UTF-8"))
        return EXIT_USAGE
    except BrokenPipeError:  # `ratecard sql ... | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141
    except OSError as error:  # reading: writing fails as a WriteError, which names the user's path
        where = error.filename2 or error.filename
        _fail(UsageError(f"{error.strerror or error}: {where}" if where else str(error.strerror or error)))
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("ratecard: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug: say so, keep the traceback, and exit apart from input failures
        return report_crash("ratecard", error)


def _fail(error: RatecardError) -> None:
    print(f"ratecard: error[{error.code}]: {error.message}", file=sys.stderr)
    if error.hint:
        print(f"  help: {error.hint}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ratecard", description="Quote requests and bill usage with a ratecard price book.",
        epilog="Shipped books: " + ", ".join(shipped_books()))
    parser.add_argument("--version", action="version", version=f"ratecard {__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    quote = commands.add_parser("quote", help="price one request (or N identical ones)",
                                description="Price one request, or --requests identical ones.")
    quote.add_argument("book", metavar="BOOK", help="a .rules file or the name of a shipped book")
    quote.add_argument("--region", required=True, help="region ID or display name, e.g. us-east-1 or 'US (Virginia)'")
    quote.add_argument("--model", required=True)
    quote.add_argument("--input", type=_count_of("input_tokens"), metavar="N", help="input tokens per request")
    quote.add_argument("--output", type=_count_of("output_tokens"), metavar="N", help="output tokens per request")
    quote.add_argument("--tokens", action="append", default=[], type=_typed_count, metavar="TYPE=N",
                       help="a count of another token type or meter per request, e.g. cached_input=100 or "
                            "web_search=2 (in the meter's own unit; repeatable)")
    quote.add_argument("--requests", type=_requests, default=1, metavar="K", help="identical requests (default 1)")
    quote.add_argument("--variant", action="append", default=[], metavar="VALUE",
                       help="a variant of the prices the book declares, e.g. batch or flex (repeatable: one value "
                            "per variant field)")
    quote.add_argument("--currency", help="currency of the quote (default: the book's first)")
    quote.add_argument("--at", metavar="TIME", type=_moment,
                       help="when the request is made (ISO 8601; default now)")
    quote.add_argument("--format", choices=("text", "json"), default="text")
    quote.set_defaults(run=_quote)

    bill = commands.add_parser("bill", help="bill usage records (CSV, JSON Lines, or Parquet on DuckDB)",
                               description="Turn usage records into an exact bill in the book's billing cycles.")
    bill.add_argument("book", metavar="BOOK", help="a .rules file or the name of a shipped book")
    bill.add_argument("usage", metavar="USAGE", nargs="+",
                      help="usage files: .csv with a header, .jsonl, or .parquet (DuckDB); - reads standard input")
    bill.add_argument("--input-format", choices=("csv", "jsonl", "parquet"),
                      help="the format of the usage (default: by suffix; on standard input, sniffed: { is JSON Lines;"
                           " parquet: the DuckDB engine, which auto picks for it)")
    bill.add_argument("--engine", choices=("auto", "python", "duckdb"), default="auto",
                      help="python: the reference engine; duckdb: the rating query on an embedded DuckDB (the sql "
                           "extra); auto (default): duckdb when it is installed and the usage is Parquet or at least "
                           f"{AUTO_DUCKDB_BYTES >> 20} MiB, else python")
    bill.add_argument("--memory-limit", metavar="SIZE", default=None, type=_memory,
                      help="DuckDB's memory limit, e.g. 1GB (default 1GB); beyond it DuckDB spills to disk")
    bill.add_argument("--currency", help="currency of the bill (default: the book's first)")
    bill.add_argument("--format", choices=tuple(FORMATS), default="table")
    bill.add_argument("--out", metavar="PATH",
                      help="write the bill here, together with its rejects (default, or -: standard output)")
    bill.add_argument("--rejects", metavar="PATH",
                      help="write rejected records here (default: NAME.rejects.csv next to --out, else next to the "
                           "first usage file, else in the current directory)")
    bill.add_argument("--strict", action="store_true", help="stop at the first bad record (exit 1, no bill)")
    bill.add_argument("--assume-tz", metavar="TZ", type=_zone,
                      help="zone for timestamps without an offset, e.g. UTC+8 (default: reject them)")
    bill.set_defaults(run=_bill)

    sql = commands.add_parser("sql", help="print the rating query of a book for a warehouse",
                              description="Print the book's rating query: the bill lines (or, with --rejects, the "
                                          "records it cannot bill) of a table of usage records, with the book's "
                                          "rates inline. Needs the sql extra (sqlglot).")
    sql.add_argument("book", metavar="BOOK", help="a .rules file or the name of a shipped book")
    sql.add_argument("--dialect", default="duckdb", metavar="NAME",
                     help="the SQL dialect: duckdb (default), spark, databricks, starrocks, postgres, snowflake, "
                          "bigquery, clickhouse, or any other sqlglot writes exactly")
    sql.add_argument("--table", default="usage", help="the table (or view) of usage records (default usage)")
    sql.add_argument("--currency", help="currency of the bill (default: the book's first)")
    sql.add_argument("--token-types", metavar="TYPE,...",
                     help="the <type>_tokens columns of the table (default: input, output and the book's others)")
    sql.add_argument("--assume-tz", metavar="TZ", type=_zone,
                     help="zone of timestamps without an offset, e.g. UTC+8 (default: reject them)")
    sql.add_argument("--rejects", action="store_true", help="the query of the records that cannot be billed")
    sql.add_argument("--view", metavar="NAME", help="wrap the query in CREATE VIEW NAME AS ...")
    sql.set_defaults(run=_sql)
    for name in WORKFLOW_COMMANDS:
        importlib.import_module(f"{__package__}.{name}").register(commands)
    importlib.import_module(f"{__package__}.importer").register(commands)  # `ratecard import`
    return parser


def _sql(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("sqlglot") is None:
        raise UsageError("ratecard sql needs sqlglot", "install the sql extra: pip install 'ratecard[sql]'")
    from ..sql import compile_query, to_dialect
    from ..sql.dialects import DIALECTS
    from ..sql.query import offset_seconds
    book = load(args.book)
    _check_currency(book, args.currency)
    types = _token_types(args.token_types)
    query = compile_query(book, args.currency or book.currency, types, offset_seconds(args.assume_tz))
    text = query.script(rejects=args.rejects, table=_identifier("--table", args.table))
    if args.view is not None:
        text = f"CREATE VIEW {_identifier('--view', args.view)} AS\n{text}"
    try:
        print(to_dialect(text, args.dialect) + ";")
    except ValueError as error:  # sqlglot: an unknown dialect (its ParseError is a ValueError too)
        raise UsageError(str(error).splitlines()[0].rstrip("."), "dialects: " + ", ".join(DIALECTS)) from None
    return EXIT_OK


_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}")
_TOKEN_TYPE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*")
_SIZE = re.compile(r"[0-9]+(\.[0-9]+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", re.IGNORECASE)


def _identifier(option: str, name: str) -> str:
    """A table or view name as the query may name it: letters, digits and _, dotted into at most 3 parts."""
    if not _IDENTIFIER.fullmatch(name):
        raise UsageError(f"{option} '{name}' is not a plain table name",
                         "name it with letters, digits and _, as db.table or catalog.db.table; "
                         "make a view of another name")
    return name


def _token_types(text: str | None) -> tuple[str, ...] | None:
    """The --token-types list: token type names, input and output among them (every record has both)."""
    if text is None:
        return None
    types = tuple(t.strip() for t in text.split(","))
    bad = [t for t in types if not _TOKEN_TYPE.fullmatch(t)]
    if bad or len(set(types)) != len(types) or not {"input", "output"} <= set(types):
        raise UsageError(f"--token-types '{text}' is not a list of token types with input and output",
                         "list the table's <type>_tokens columns by type, e.g. input,output,cached_input")
    return types


def _memory(text: str) -> str:
    """An argparse type: a size DuckDB takes, such as 512MB or 4GB."""
    if not _SIZE.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"'{text}' is not a size such as 512MB or 4GB")
    return text.strip()


def _moment(text: str) -> str:
    """The text, once it is known to be a time; the book's zone applies when it has no offset."""
    try:
        parse_moment(text, timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not an ISO 8601 time such as 2026-05-01T10:00+08:00") from None
    return text


def _zone(text: str):
    try:
        return parse_zone(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _count_of(name: str) -> Callable[[str], int]:
    """An argparse type: a count read by the parser usage files go through (ASCII digits only)."""
    def count(text: str) -> int:
        try:
            return parse_count(name, text)
        except RatecardError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return count


def _requests(text: str) -> int:
    try:
        return parse_requests(parse_count("requests", text))
    except RatecardError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _typed_count(text: str) -> tuple[str, str]:
    """`TYPE=N` as (TYPE, N's text): N is read once the book says the meter's unit (`_requested_tokens`)."""
    name, sep, count = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not TYPE=N")
    return name.strip(), count


def _requested_tokens(args: argparse.Namespace, book: PriceBook) -> dict[str, int]:
    """Counts per request by meter, from --input, --output and --tokens; a meter given twice is an error. Input
    and output the model prices count 0 unless given, so the quote shows their lines."""
    given = [(name, count) for name, count in (("input", args.input), ("output", args.output)) if count is not None]
    meters = UsageMeters.of(book)
    for name, text in args.tokens:  # named by the usage column of the meter (`web_search_calls is 'x'`), or a fee's
        label = name if name in meters.units and meters.units[name].per_request else meters.column(name)
        try:
            given.append((name, parse_count(label, text)))
        except RatecardError as error:
            raise UsageError(f"--tokens {name}={text}: {error.message}", error.hint) from None
    tokens: dict[str, int] = {}
    for name, count in given:
        if name in tokens:
            raise UsageError(f"{name} tokens are given twice ({tokens[name]:,} and {count:,})",
                             "give each token type once, with --input, --output or --tokens TYPE=N")
        tokens[name] = count
    priced = book.models.get(book.aliases.get(args.model, args.model), ("input", "output"))
    return {name: 0 for name in ("input", "output") if name in priced} | tokens


def _quote(args: argparse.Namespace) -> int:
    book = load(args.book)
    tokens = _requested_tokens(args, book)
    quote = book.quote(region=args.region, model=args.model, tokens=tokens, requests=args.requests,
                       currency=args.currency, at=args.at, variants=tuple(args.variant))
    if args.format == "json":
        print(json.dumps(quote.as_dict(), indent=2))
    else:
        print(quote_text(book, quote))
    return EXIT_OK


def _bill(args: argparse.Namespace) -> int:
    book = load(args.book)
    plan = plan_outputs(args.out, args.rejects, args.usage, read=[args.book, *book.source_files])
    _check_currency(book, args.currency)
    usage = read_usage(args.usage, input_format=args.input_format)
    engine = choose_engine(args.engine, usage)
    with progress_display(sys.stderr) as progress, BillOutputs(plan, on_wait=_say_waiting) as outputs:
        if engine == "duckdb":
            from ..sql.duck import MEMORY_LIMIT, bill as duckdb_bill
            result = duckdb_bill(book, usage, currency=args.currency, assume_tz=args.assume_tz,
                                 on_reject=outputs.add_reject, strict=args.strict,
                                 memory_limit=args.memory_limit or MEMORY_LIMIT)
        else:
            result = book.bill(usage, currency=args.currency, assume_tz=args.assume_tz,
                               on_reject=outputs.add_reject, strict=args.strict, on_progress=progress.on_bill)

        def write(handle: TextIO) -> None:
            engine_csv = getattr(result.lines, "write_csv", None) if args.format == "csv" else None
            if engine_csv is not None:  # DuckDB writes the same text itself, at its own speed
                engine_csv(handle)
                return
            with progress.writing(handle, result, book, args.format) as watched:
                write_bill(result, book, args.format, watched)
        try:
            outputs.write_bill(write)
        finally:
            getattr(result.lines, "close", lambda: None)()
        outputs.commit()
    summary = f"ratecard: {result.read:,} records read = {result.billed:,} billed + {result.rejected:,} rejected"
    if outputs.rejects_written:
        summary += f"; rejects in {plan.rejects}"
    print(summary, file=sys.stderr)
    return EXIT_OK if result.rejected == 0 else EXIT_UNPRICED


AUTO_DUCKDB_BYTES = 64 << 20  # about a million usage records


def choose_engine(asked: str, usage: UsageFiles) -> str:
    """The engine a bill runs on: as asked, or for `auto` DuckDB when it is installed and the usage is Parquet
    or large (at least AUTO_DUCKDB_BYTES of files), else the Python engine."""
    if asked == "python":
        return "python"
    installed = all(importlib.util.find_spec(name) is not None for name in ("duckdb", "pyarrow"))
    if asked == "duckdb":
        if not installed:
            raise UsageError("--engine duckdb needs DuckDB and pyarrow",
                             "install the sql extra: pip install 'ratecard[sql]'")
        return asked
    parquet = any(u.form == "parquet" for u in usage.inputs)
    large = (usage.bytes_total or 0) >= AUTO_DUCKDB_BYTES
    return "duckdb" if installed and (parquet or large) else "python"


def _check_currency(book: PriceBook, currency: str | None) -> None:
    """A currency the book has no prices in is known before a record is read: a usage error, not a reject."""
    if currency is not None:
        try:
            require_currency(book, currency)
        except PricingError as error:
            raise UsageError(error.message, error.hint) from None


def _say_waiting(path: Path) -> None:
    print(f"ratecard: waiting for another ratecard bill writing in {os.path.abspath(path.parent)} "
          f"(this one writes {path})", file=sys.stderr, flush=True)


def quote_text(book: PriceBook, quote: Quote) -> str:
    region = book.regions[quote.region]
    header = (f"{book.title} ({book.name})\n"
              f"{quote.model}{''.join(f' [{v}]' for v in quote.variant)} in {region.id} ({region.name}), "
              f"tier {quote.tier.index}: {quote.tier.label}"
              + (f", {quote.requests:,} requests" if quote.requests != 1 else ""))
    rows = []
    for line in quote.lines:
        price = "not billed" if not line.billed else f"{quote.currency} {line.unit_price} / {line.pricing_unit}"
        rows.append((line.token_type, f"{line.tokens:,} {line.unit}", price, _rounded(book, line.amount),
                     plain(line.amount)))
    rows.append(("list price", "", "", _rounded(book, quote.list_total), plain(quote.list_total)))
    for credit in quote.credits:
        rows.append((f"{credit.kind} credit", "", "", _rounded(book, credit.amount), plain(credit.amount)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [header]
    for name, tokens, price, rounded, exact in rows:
        lines.append(f"  {name:<{widths[0]}}  {tokens:>{widths[1]}}  {price:<{widths[2]}}  "
                     f"{quote.currency} {rounded:>{widths[3]}}   (exact {exact})")
    lines.append(f"Total: {quote.currency} {quote.total_rounded}   (exact {plain(quote.total)})")
    lines += [f"  {credit.kind}: {credit.reason}" for credit in quote.credits]
    return "\n".join(lines)


def _rounded(book: PriceBook, amount) -> str:
    return str(round_amount(amount, book.quantum, book.round_mode))


if __name__ == "__main__":
    sys.exit(main())
