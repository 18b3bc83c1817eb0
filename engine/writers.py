"""Bills to text: JSON, CSV, TOML, FinOps FOCUS 1.2 and a terminal table.

Takes a `Bill` (and its `PriceBook` for names and zones) and gives text in the
asked format, streamed: `write_bill` writes one bill line at a time, so a bill
of millions of lines never becomes one string in memory (`FORMATS[form]` joins
the same pieces for callers that want a string). Every format is built from
the same `line_fields`, so a column means the same thing everywhere; money is
always a string of the exact amount (or the rounded one where the column says
so), never a float. FOCUS columns follow `docs/focus.md`, which checks each
against the specification text.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from json.encoder import encode_basestring_ascii as _json_text
from decimal import Decimal
from functools import lru_cache
from itertools import groupby
from typing import Any, Callable, Iterable, Iterator, TextIO

import tomli_w

from .atomic import AtomicFile, write_atomic  # noqa: F401  (re-exported for callers)
from .billing import Bill, BillLine, Totals
from .locations import location
from .moments import format_zone
from .money import EXACT, exact_sum, plain
from .records import Reject, csv_text
from .tables import PriceBook, variant_key

LINE_COLUMNS = ("cycle_start", "cycle_end", "account", "region", "model", "variant", "tier", "token_type", "kind", "quantity",
                "unit", "unit_price", "pricing_unit", "amount", "amount_rounded", "currency", "description", "rate_source")
REJECT_COLUMNS = ("source", "line", "code", "reason", "record")
#: FOCUS 1.2 columns a token bill fills (alphabetical, as the specification lists them), then ratecard's own.
FOCUS_COLUMNS = (
    "BilledCost", "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodEnd",
    "BillingPeriodStart", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency", "ChargePeriodEnd",
    "ChargePeriodStart", "ConsumedQuantity", "ConsumedUnit", "ContractedCost", "EffectiveCost", "InvoiceId",
    "InvoiceIssuerName", "ListCost", "ListUnitPrice", "PricingCategory", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ServiceCategory", "ServiceName",
    "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails", "SkuPriceId", "Tags",
    "x_ChargeKind", "x_BilledCostRounded",
)
SERVICE_CATEGORY, SERVICE_SUBCATEGORY = "AI and Machine Learning", "Generative AI"


def rate_source(line: BillLine) -> str:
    """Where the book states what priced the line, as `path:line:col`: the rate's own cell for usage
    (`rules/emr-starrocks-ai-function.rules:28:26`), the quota or trial statement for a credit."""
    return location(line.source)


@lru_cache(maxsize=4096)
def _cycle_texts(start: datetime, seconds: int, zone=None) -> tuple[str, str]:
    # `zone` is part of the cache key: aware datetimes of one instant are equal whatever their zone
    return start.isoformat(), (start + timedelta(seconds=seconds)).isoformat()


def line_fields(line: BillLine) -> dict[str, Any]:
    """A bill line as plain data, in the order of `LINE_COLUMNS`: what every format writes."""
    cycle_start, cycle_end = _cycle_texts(line.cycle_start, line.context.cycle_seconds, line.cycle_start.tzinfo)
    amount = line.amount
    return {
        "cycle_start": cycle_start,
        "cycle_end": cycle_end,
        "account": line.account,
        "region": line.region,
        "model": line.model,
        "variant": variant_key(line.offer.variant),
        "tier": line.tier.label,
        "token_type": line.token_type,
        "kind": line.kind,
        "quantity": line.quantity,
        "unit": line.unit,
        "unit_price": str(line.unit_price),
        "pricing_unit": line.pricing_unit,
        "amount": plain(amount),
        "amount_rounded": str(line.rounded(amount)),
        "currency": line.currency,
        "description": line.description,
        "rate_source": rate_source(line),
    }


class LineJson:
    """`json.dumps(line_fields(line))` for the lines of one bill, from cached pieces.

    A line's text is its cycle and account (shared with the lines before it),
    the pieces its offer, tier, token type and kind share with every line of
    the same kind, and its own quantity and amounts (plain digits, which JSON
    writes as they are). Every piece is encoded by json's own string encoder
    from the values `line_fields` gives, so the text is the same to the byte.
    """

    def __init__(self) -> None:
        self._head_of: tuple | None = None
        self._head = ""
        self._pieces: dict[tuple, tuple[str, str, str]] = {}

    def __call__(self, line: BillLine) -> str:
        if self._head_of is None or self._head_of[0] is not line.cycle_start or self._head_of[1] != line.account:
            cycle_start, cycle_end = _cycle_texts(line.cycle_start, line.context.cycle_seconds, line.cycle_start.tzinfo)
            self._head_of = (line.cycle_start, line.account)
            self._head = (f'{{"cycle_start": {_json_text(cycle_start)}, "cycle_end": {_json_text(cycle_end)}, '
                          f'"account": {_json_text(line.account)}, ')
        key = (line.offer, line.tier, line.token_type, line.kind, line.price)
        pieces = self._pieces.get(key)
        if pieces is None:
            pieces = self._pieces[key] = _json_pieces(line)
        amount = line.amount
        before_quantity, before_amount, after_amounts = pieces
        return (f'{self._head}{before_quantity}{line.quantity}{before_amount}"{plain(amount)}", '
                f'"amount_rounded": "{line.rounded(amount)}"{after_amounts}')


def _json_pieces(line: BillLine) -> tuple[str, str, str]:
    fields = {name: _json_text(value) for name, value in line_fields(line).items() if type(value) is str}
    return (", ".join(f'"{name}": {fields[name]}' for name in ("region", "model", "variant", "tier", "token_type",
                                                                 "kind"))
            + ', "quantity": ',
            ", " + ", ".join(f'"{name}": {fields[name]}' for name in ("unit", "unit_price", "pricing_unit"))
            + ', "amount": ',
            ", " + ", ".join(f'"{name}": {fields[name]}' for name in ("currency", "description", "rate_source"))
            + "}")


def line_json(line: BillLine) -> str:
    """One line as `json.dumps(line_fields(line))` gives it."""
    return LineJson()(line)


def totals_fields(totals: Totals) -> dict[str, str]:
    return {"list": plain(totals.list), "credits": plain(totals.credits), "billed": plain(totals.billed),
            "list_rounded": str(totals.list_rounded), "credits_rounded": str(totals.credits_rounded),
            "billed_rounded": str(totals.billed_rounded)}


def bill_header(bill: Bill, book: PriceBook) -> dict[str, Any]:
    """Everything but the lines, as plain data: what JSON and TOML write before them."""
    return {
        "book": bill.book,
        "title": book.title,
        "currency": bill.currency,
        "cycle": f"{book.cycle} in {format_zone(book.zone)}",
        "records": {"read": bill.read, "billed": bill.billed, "rejected": bill.rejected},
        "totals": {currency: totals_fields(t) for currency, t in bill.totals.items()},
        "accounts": {account: totals_fields(t) for account, t in bill.accounts.items()},
    }


def bill_document(bill: Bill, book: PriceBook) -> dict[str, Any]:
    """The whole bill as plain data."""
    return {**bill_header(bill, book), "lines": [line_fields(line) for line in bill.lines]}


def json_chunks(bill: Bill, book: PriceBook) -> Iterator[str]:
    """Indented JSON, one bill line per text line: readable, and streamed."""
    yield json.dumps(bill_header(bill, book), indent=2)[:-2] + ',\n  "lines": ['
    separator, line_json = "\n    ", LineJson()
    for line in bill.lines:
        yield separator + line_json(line)
        separator = ",\n    "
    yield "\n  ]\n}\n" if bill.lines else "]\n}\n"


def toml_chunks(bill: Bill, book: PriceBook) -> Iterator[str]:
    """TOML: the header through tomli_w, then one `[[lines]]` table per line (strings and integers only)."""
    yield tomli_w.dumps(bill_header(bill, book))
    for line in bill.lines:
        yield "\n[[lines]]\n" + "".join(f"{key} = {_toml_value(value)}\n" for key, value in line_fields(line).items())


def _toml_value(value: Any) -> str:
    # A JSON string is a TOML basic string (the same escapes), but for DEL, which TOML wants escaped too;
    # integers are written alike.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F") if isinstance(value, str) else str(value)


def _csv_chunks(columns: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
        if out.tell() > 1 << 16:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def csv_chunks(bill: Bill, book: PriceBook) -> Iterator[str]:
    return _csv_chunks(LINE_COLUMNS, (line_fields(line) for line in bill.lines))


def _utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def billing_period(moment: datetime) -> tuple[datetime, datetime]:
    """The calendar month (in the book's zone) that a cycle starting at `moment` is invoiced in."""
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
    return start, end


def provider_name(book: PriceBook) -> str:
    """Who provides the priced service: the organisation the book's `source` names, else the book's title."""
    if not book.source:
        return book.title
    head = book.source.split(",")[0].strip()
    return head.removesuffix(" documentation").strip() or book.title


def focus_row(line: BillLine, book: PriceBook) -> dict[str, Any]:
    """One FOCUS 1.2 row (docs/focus.md). A usage row carries quantities, prices and list cost; a credit row
    (free quota or trial) carries the negative amount in all four cost columns and no quantities."""
    usage = line.kind == "usage"
    region = book.regions[line.region]
    amount = plain(line.amount)
    period_start, period_end = billing_period(line.cycle_start)
    provider = provider_name(book)
    tier = line.tier
    upper = "" if tier.upper is None else str(tier.upper)
    variant = variant_key(line.offer.variant)
    return {
        "BilledCost": amount,
        "BillingAccountId": line.account,
        "BillingAccountName": "",
        "BillingCurrency": line.currency,
        "BillingPeriodEnd": _utc(period_end),
        "BillingPeriodStart": _utc(period_start),
        "ChargeCategory": "Usage" if usage else "Credit",
        "ChargeClass": "",
        "ChargeDescription": line.description,
        "ChargeFrequency": "Usage-Based",
        "ChargePeriodEnd": _utc(line.cycle_end),
        "ChargePeriodStart": _utc(line.cycle_start),
        "ConsumedQuantity": line.quantity if usage else "",
        "ConsumedUnit": line.unit.title() if usage else "",
        "ContractedCost": amount,
        "EffectiveCost": amount,
        "InvoiceId": "",
        "InvoiceIssuerName": provider,
        "ListCost": amount,
        "ListUnitPrice": plain(line.unit_price) if usage else "",
        "PricingCategory": "Standard" if usage else "",
        "PricingQuantity": plain(EXACT.divide(Decimal(line.quantity), line.pricing_size)) if usage else "",
        "PricingUnit": f"{line.pricing_size} {line.unit.title()}" if usage else "",
        "ProviderName": provider,
        "PublisherName": provider,
        "RegionId": region.id,
        "RegionName": region.name,
        "ServiceCategory": SERVICE_CATEGORY,
        "ServiceName": book.title,
        "ServiceSubcategory": SERVICE_SUBCATEGORY,
        "SkuId": f"{book.name}:{line.model}:{line.token_type}",
        "SkuMeter": f"{line.token_type.replace('_', ' ').title()} {line.unit.title()}",
        "SkuPriceDetails": json.dumps({"x_Model": line.model, "x_TokenType": line.token_type, "x_Region": region.id,
                                       "x_Tier": tier.label, "x_TierBasis": "tokens per request",
                                       **({"x_Variant": variant} if variant else {})}, separators=(",", ":")),
        "SkuPriceId": f"{book.name}:{line.model}:{region.id}:{tier.lower}-{upper}:{line.token_type}"
                      + (f":{variant}" if variant else ""),
        "Tags": _source_tag(rate_source(line)),
        "x_ChargeKind": line.kind,
        "x_BilledCostRounded": str(line.amount_rounded),
    }


#: The provider-defined tag (docs/focus.md: Tags) by which a FOCUS row names the rate that priced it: FOCUS wants
#: no custom column that repeats a FOCUS column, so this is the only place a FOCUS export writes it.
SOURCE_TAG = "ratecard.source"


@lru_cache(maxsize=4096)
def _source_tag(source: str) -> str:
    return json.dumps({SOURCE_TAG: source}, separators=(",", ":"))


def focus_chunks(bill: Bill, book: PriceBook) -> Iterator[str]:
    """FOCUS rows: every usage line, and every credit line that credits something (a credit of 0, for a type the
    book does not bill, would be a placeholder row)."""
    return _csv_chunks(FOCUS_COLUMNS, (focus_row(line, book) for line in bill.lines
                                       if line.kind == "usage" or line.billed))


def table_chunks(bill: Bill, book: PriceBook) -> Iterator[str]:
    """A readable summary: per account, one block per cycle; the account's totals; the bill's totals last."""
    zone = format_zone(book.zone)
    unit_width = max([6, *(len(unit.plural) for unit in book.units.values())])
    yield (f"{book.title} ({book.name}), {bill.currency}, {book.cycle} cycles in {zone}\n"
           f"records: {bill.read:,} read = {bill.billed:,} billed + {bill.rejected:,} rejected\n\n")
    for account, account_lines in groupby(bill.lines, key=lambda line: line.account):
        for start, lines in groupby(account_lines, key=lambda line: line.cycle_start):
            lines = list(lines)
            out = [f"{start:%Y-%m-%d %H:%M}-{lines[0].cycle_end:%H:%M} {zone}  account {account}"]
            for line in lines:
                variant = variant_key(line.offer.variant)
                what = f"{line.region} {line.model}{f' [{variant}]' if variant else ''} tier {line.tier.index} " \
                       f"{line.token_type}"
                price = f"x {line.unit_price}/{line.pricing_unit}" if line.billed else "not billed"
                out.append(f"  {what:<44} {line.kind:<6} {line.quantity:>12,} {line.unit:<{unit_width}}  {price:<24} "
                           f"{line.amount_rounded:>14}")
            out.append(f"  {'cycle total':<{91 + unit_width}} {exact_sum(line.amount_rounded for line in lines):>14}")
            yield "\n".join(out) + "\n\n"
        yield f"Account {account}: {_totals_text(bill.accounts[account])}\n\n"
    for currency, totals in bill.totals.items():
        yield f"Totals ({currency}, {len(bill.accounts):,} accounts):  {_totals_text(totals)}\n"


def _totals_text(totals: Totals) -> str:
    return (f"list {totals.list_rounded}   credits {totals.credits_rounded}   billed {totals.billed_rounded}   "
            f"(exact: list {plain(totals.list)}, credits {plain(totals.credits)}, billed {plain(totals.billed)})")


CHUNKS: dict[str, Callable[[Bill, PriceBook], Iterator[str]]] = {
    "table": table_chunks, "json": json_chunks, "csv": csv_chunks, "toml": toml_chunks, "focus": focus_chunks,
}


def _joined(chunks: Callable[[Bill, PriceBook], Iterator[str]]) -> Callable[[Bill, PriceBook], str]:
    return lambda bill, book: "".join(chunks(bill, book))


#: The bill in each format as one string (for small bills and tests; `write_bill` streams).
FORMATS: dict[str, Callable[[Bill, PriceBook], str]] = {form: _joined(chunks) for form, chunks in CHUNKS.items()}
to_table, to_json, to_csv, to_toml, to_focus = (FORMATS[f] for f in ("table", "json", "csv", "toml", "focus"))


def write_bill(bill: Bill, book: PriceBook, form: str, out: TextIO) -> None:
    """Write the bill in format `form` (a key of `FORMATS`) to a text stream, a piece at a time."""
    write = out.write
    for chunk in CHUNKS[form](bill, book):
        write(chunk)


def rejects_csv_header() -> str:
    return csv_text(REJECT_COLUMNS) + "\n"


def reject_row(reject: Reject) -> str:
    return csv_text([reject.source, reject.line, reject.code, reject.reason, reject.record]) + "\n"
