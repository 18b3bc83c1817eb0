"""Bills to text: JSON, CSV, TOML, FinOps FOCUS and a terminal table.

Takes a `Bill` (and its `PriceBook` for names and zones) and gives text in the
asked format. Every format is built from the same `line_fields`, so a column
means the same thing everywhere; money is always a string of the exact amount
(or the rounded one where the column says so), never a float. `AtomicFile`
puts text in place through a temporary file and a rename, so an interrupted
run never leaves half a bill or half a rejects file.
"""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import timezone
from decimal import Decimal
from typing import Any, Callable, TextIO

import tomli_w

from .atomic import AtomicFile, write_atomic  # noqa: F401  (re-exported for callers)
from .billing import Bill, BillLine
from .moments import format_zone
from .money import EXACT, ZERO, plain, round_amount
from .records import Reject, csv_text
from .tables import PriceBook

LINE_COLUMNS = ("cycle_start", "cycle_end", "account", "region", "model", "tier", "token_type", "kind", "quantity",
                "unit_price", "pricing_unit", "amount", "amount_rounded", "currency", "description")
REJECT_COLUMNS = ("source", "line", "code", "reason", "record")
FOCUS_COLUMNS = ("BillingAccountId", "BillingCurrency", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
                 "ChargeDescription", "ServiceName", "RegionId", "RegionName", "SkuId", "SkuPriceId",
                 "ConsumedQuantity", "ConsumedUnit", "PricingQuantity", "PricingUnit", "ListUnitPrice",
                 "ListCost", "BilledCost")


def line_fields(line: BillLine) -> dict[str, Any]:
    return {
        "cycle_start": line.cycle_start.isoformat(),
        "cycle_end": line.cycle_end.isoformat(),
        "account": line.account,
        "region": line.region,
        "model": line.model,
        "tier": line.tier.label,
        "token_type": line.token_type,
        "kind": line.kind,
        "quantity": line.quantity,
        "unit_price": str(line.unit_price),
        "pricing_unit": line.pricing_unit,
        "amount": plain(line.amount),
        "amount_rounded": str(line.amount_rounded),
        "currency": line.currency,
        "description": line.description,
    }


def bill_document(bill: Bill, book: PriceBook) -> dict[str, Any]:
    """The bill as plain data: what JSON and TOML write."""
    return {
        "book": bill.book,
        "title": book.title,
        "currency": bill.currency,
        "cycle": f"{book.cycle} in {format_zone(book.zone)}",
        "records": {"read": bill.read, "billed": bill.billed, "rejected": bill.rejected},
        "totals": {
            currency: {"list": plain(t.list), "credits": plain(t.credits), "billed": plain(t.billed),
                       "list_rounded": str(t.list_rounded), "credits_rounded": str(t.credits_rounded),
                       "billed_rounded": str(t.billed_rounded)}
            for currency, t in bill.totals.items()
        },
        "lines": [line_fields(line) for line in bill.lines],
    }


def to_json(bill: Bill, book: PriceBook) -> str:
    """Indented JSON, one bill line per text line: readable, and fast to write for large bills."""
    document = bill_document(bill, book)
    lines = document.pop("lines")
    head = json.dumps(document, indent=2)[:-2]
    body = ",\n    ".join(json.dumps(line) for line in lines)
    return f'{head},\n  "lines": [\n    {body}\n  ]\n}}\n' if lines else f'{head},\n  "lines": []\n}}\n'


def to_toml(bill: Bill, book: PriceBook) -> str:
    return tomli_w.dumps(bill_document(bill, book))


def _csv_text(columns: tuple[str, ...], rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_csv(bill: Bill, book: PriceBook) -> str:
    return _csv_text(LINE_COLUMNS, [line_fields(line) for line in bill.lines])


def focus_row(line: BillLine, book: PriceBook) -> dict[str, Any]:
    """One FOCUS 1.2 row. Usage rows carry quantities and list cost; credit rows carry only the negative cost."""
    usage = line.kind == "usage"
    region = book.regions[line.region]
    pricing_quantity = EXACT.divide(Decimal(line.quantity), book.unit_tokens)  # a power of ten: exact
    return {
        "BillingAccountId": line.account,
        "BillingCurrency": line.currency,
        "ChargePeriodStart": line.cycle_start.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ChargePeriodEnd": line.cycle_end.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ChargeCategory": "Usage" if usage else "Credit",
        "ChargeDescription": line.description,
        "ServiceName": book.title,
        "RegionId": region.id,
        "RegionName": region.name,
        "SkuId": f"{line.model}:{line.token_type}",
        "SkuPriceId": f"{book.name}:{line.model}:{region.id}:tier{line.tier.index}:{line.token_type}:{line.currency}",
        "ConsumedQuantity": line.quantity if usage else "",
        "ConsumedUnit": "Tokens" if usage else "",
        "PricingQuantity": plain(pricing_quantity) if usage else "",
        "PricingUnit": line.pricing_unit.replace("tokens", "Tokens").replace("token", "Token") if usage else "",
        "ListUnitPrice": str(line.unit_price) if usage else "",
        "ListCost": plain(line.amount) if usage else "0",
        "BilledCost": plain(line.amount),
    }


def to_focus(bill: Bill, book: PriceBook) -> str:
    return _csv_text(FOCUS_COLUMNS, [focus_row(line, book) for line in bill.lines])


def to_table(bill: Bill, book: PriceBook) -> str:
    """A readable summary: one block per cycle and account, totals last."""
    out = [f"{book.title} ({book.name}), {bill.currency}, {book.cycle} cycles in {format_zone(book.zone)}",
           f"records: {bill.read:,} read = {bill.billed:,} billed + {bill.rejected:,} rejected", ""]
    blocks: dict[tuple, list[BillLine]] = defaultdict(list)
    for line in bill.lines:
        blocks[(line.cycle_start, line.account)].append(line)
    for (start, account), lines in blocks.items():
        end = lines[0].cycle_end
        out.append(f"{start:%Y-%m-%d %H:%M}-{end:%H:%M} {format_zone(book.zone)}  account {account}")
        for line in lines:
            what = f"{line.region} {line.model} tier {line.tier.index} {line.token_type}"
            price = f"x {line.unit_price}/{line.pricing_unit}" if line.billed else "not billed"
            out.append(f"  {what:<44} {line.kind:<6} {line.quantity:>12,} tokens  {price:<24} "
                       f"{line.amount_rounded:>14}")
        subtotal = sum((line.amount for line in lines), ZERO)
        out.append(f"  {'cycle total':<97} {round_amount(subtotal, book.quantum, book.round_mode):>14}")
        out.append("")
    for currency, totals in bill.totals.items():
        out.append(f"Totals ({currency}):  list {totals.list_rounded}   credits {totals.credits_rounded}   "
                   f"billed {totals.billed_rounded}   (exact: list {plain(totals.list)}, credits "
                   f"{plain(totals.credits)}, billed {plain(totals.billed)})")
    return "\n".join(out) + "\n"


FORMATS: dict[str, Callable[[Bill, PriceBook], str]] = {
    "table": to_table, "json": to_json, "csv": to_csv, "toml": to_toml, "focus": to_focus,
}


def write_bill(bill: Bill, book: PriceBook, form: str, out: TextIO) -> None:
    """Write the bill in format `form` (a key of `FORMATS`) to a text stream."""
    out.write(FORMATS[form](bill, book))


def rejects_csv_header() -> str:
    return csv_text(REJECT_COLUMNS) + "\n"


def reject_row(reject: Reject) -> str:
    return csv_text([reject.source, reject.line, reject.code, reject.reason, reject.record]) + "\n"
