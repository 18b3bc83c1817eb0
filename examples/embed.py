"""Embedding ratecard in a billing pipeline.

    python examples/embed.py

Loads a shipped book, quotes one request, bills usage hour by hour while
carrying the free-quota ledger from one call to the next, and prints the
lines and totals. Money stays `Decimal` throughout.
"""

from __future__ import annotations

from pathlib import Path

import ratecard
from ratecard.billing import QuotaLedger
from ratecard.records import read_usage
from ratecard.writers import to_json

book = ratecard.load("emr-starrocks-ai-function")

# One request, priced at list price.
quote = book.quote(region="US (Virginia)", model="qwen-plus", tokens={"input": 750, "output": 20})
print(f"one ai_query() call: {quote.currency} {quote.total_rounded} (exact {quote.total}, tier {quote.tier.label})")

# A caller's own records: dicts (or ratecard.records.UsageRecord), billed in two batches.
# The ledger remembers each account's first use and free tokens consumed.
first_hour = [
    {"timestamp": "2026-05-01T10:05:00+08:00", "account": "acct-1", "region": "cn-hangzhou",
     "model": "qwen-plus", "input_tokens": 200_000, "output_tokens": 2_000, "requests": 4},
]
second_hour = [
    {"timestamp": "2026-05-01T11:40:00+08:00", "account": "acct-1", "region": "cn-hangzhou",
     "model": "qwen-plus", "input_tokens": 150_000, "output_tokens": 1_000, "requests": 2},
    {"timestamp": "2026-05-01T11:45:00+08:00", "account": "acct-1", "region": "atlantis",
     "model": "qwen-plus", "input_tokens": 10, "output_tokens": 10},
]
ledger = QuotaLedger()
for batch in (first_hour, second_hour):
    bill = book.bill(batch, ledger=ledger)
    ledger = bill.ledger  # carry quota state into the next call
    for line in bill.lines:
        print(f"{line.cycle_start:%H:%M} {line.account} {line.region} tier {line.tier.index} "
              f"{line.token_type:<6} {line.kind:<5} {line.quantity:>9,} tokens  {line.currency} {line.amount}")
    for reject in bill.rejects:
        print(f"rejected: {reject.reason}")
    totals = bill.totals[bill.currency]
    print(f"  list {totals.list}  credits {totals.credits}  billed {totals.billed_rounded}")
print(f"free tokens used by acct-1: {ledger.accounts['acct-1'].consumed:,}")

# Files work the same way; the writers give JSON, CSV, TOML or FOCUS text.
usage = Path(__file__).with_name("usage.csv")
bill = book.bill(read_usage([usage]))
print(f"{usage.name}: {bill.read} read = {bill.billed} billed + {bill.rejected} rejected; "
      f"{len(to_json(bill, book)):,} bytes of JSON")
