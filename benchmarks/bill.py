"""Whole-process speed and memory of `ratecard bill`, against baselines run alongside.

    python benchmarks/bill.py [--records 1000000]

Generates seeded usage records (CSV: 20 accounts, 8 regions, 3 days, so the
bill has about 25,000 lines whatever the record count), then times, each as
its own process:
- a bare `csv` parse of the file (the floor any CSV biller stands on);
- a hand-written Decimal rater: what a billing engineer writes for this one
  price table (parse, find the tier, Decimal amounts, sum per hour and account);
- `ratecard bill emr-starrocks-ai-function FILE --format json --out ...`.
Prints records/s and the ratios, and the peak memory of `ratecard bill` at N/10
and N records. Goals: at least 2x the hand-written rater, at least half the
speed of the bare parse, and peak memory flat as the record count grows 10x.

Two more cases, each in a process of its own:
- one busy account inside its free quota: 40,000 one-token records (in order
  and reversed) must bill in well under a second (the quota prefix keeps a
  running total, so the work is linear);
- a many-account bill (`--accounts`, default 2,000 accounts, N records): bytes
  held per bill line (tracemalloc) and peak RSS per line, and microseconds per
  line to build the lines and write them as JSON. Goals: under 400 bytes per
  line held, under 5 us per line built and written.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

REGIONS = ["cn-hangzhou", "cn-beijing", "China (Shanghai)", "us-east-1", "US (Virginia)", "eu-central-1",
           "ap-southeast-1", "cn-hongkong"]

HAND_WRITTEN = r'''
import csv, sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D
CHINA = {"cn-hangzhou", "cn-beijing", "China (Shanghai)"}
TIERS = {
    True: [(128_000, D("0.000138"), D("0.000344")), (256_000, D("0.000414"), D("0.003442")),
           (1_000_000, D("0.000827"), D("0.008257"))],
    False: [(256_000, D("0.000480"), D("0.001440")), (1_000_000, D("0.001440"), D("0.004320"))],
}
UTC8 = timezone(timedelta(hours=8))
totals = defaultdict(D)
with open(sys.argv[1], newline="") as handle:
    rows = csv.reader(handle)
    next(rows)
    for timestamp, account, region, model, tokens_in, tokens_out, requests, request_id in rows:
        tokens_in, tokens_out, requests = int(tokens_in), int(tokens_out), int(requests)
        for upper, price_in, price_out in TIERS[region in CHINA]:
            if tokens_in <= upper:
                break
        hour = datetime.fromisoformat(timestamp).astimezone(UTC8).replace(minute=0, second=0)
        totals[(hour, account, region)] += (price_in * tokens_in + price_out * tokens_out) * requests / 1000
print(sum(totals.values()))
'''

BARE_PARSE = r'''
import csv, sys
with open(sys.argv[1], newline="") as handle:
    print(sum(1 for _ in csv.reader(handle)))
'''

MEASURE = r'''
import resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
if result.returncode not in (0, 1):
    sys.exit(result.stderr.decode())
print(elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
'''


def generate(path: Path, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=8)))
    accounts = [f"acct-{n:03d}" for n in range(20)]
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["timestamp", "account", "region", "model", "input_tokens", "output_tokens", "requests",
                      "request_id"])
        for number in range(count):
            moment = start + timedelta(seconds=rng.randrange(0, 3 * 24 * 3600))
            tokens_in = rng.randrange(1, 300_000) if number % 50 == 0 else rng.randrange(1, 4_000)
            out.writerow([moment.isoformat(), rng.choice(accounts), rng.choice(REGIONS), "qwen-plus", tokens_in,
                          rng.randrange(0, 800), rng.randrange(1, 20), f"r{number}"])


QUOTA_CASE = r'''
import sys, time
from datetime import datetime, timedelta, timezone
import ratecard
book = ratecard.load("emr-starrocks-ai-function")
start = datetime(2026, 5, 1, tzinfo=timezone.utc)
records = [{"timestamp": (start + timedelta(seconds=n)).isoformat(), "account": "busy", "region": "us-east-1",
            "model": "qwen-plus", "input_tokens": "1", "output_tokens": "0"} for n in range(int(sys.argv[1]))]
for name, ordered in (("in order", records), ("reversed", records[::-1])):
    began = time.perf_counter()
    bill = book.bill(ordered)
    print(f"{name}: {time.perf_counter() - began:.3f} s")
'''

LINES_CASE = r'''
import gc, io, resource, sys, time, tracemalloc
import ratecard
from ratecard.records import read_usage
from ratecard.writers import write_bill
book = ratecard.load("emr-starrocks-ai-function")
path, trace = sys.argv[1], sys.argv[2] == "trace"
phases = {}
def progress(p):
    phases.setdefault(p.phase, time.perf_counter())
if trace:
    tracemalloc.start()
gc.collect()
before = tracemalloc.get_traced_memory()[0] if trace else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
bill = book.bill(read_usage([path]), on_progress=progress)
built = time.perf_counter()
gc.collect()
if trace:
    held = tracemalloc.get_traced_memory()[0] - before
    print(len(bill.lines), held)
else:
    peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    class Null(io.TextIOBase):
        def write(self, text):
            return len(text)
    write_bill(bill, book, "json", Null())
    written = time.perf_counter()
    print(len(bill.lines), peak, built - phases["billing"], written - built)
'''


def generate_many_accounts(path: Path, count: int, accounts: int, seed: int = 2) -> None:
    """Usage that makes a bill line of almost every record: many accounts, spread over 30 days."""
    rng = random.Random(seed)
    start = datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=8)))
    with open(path, "w", newline="") as handle:
        out = csv.writer(handle, lineterminator="\n")
        out.writerow(["timestamp", "account", "region", "model", "input_tokens", "output_tokens", "requests"])
        for _ in range(count):
            moment = start + timedelta(seconds=rng.randrange(0, 30 * 24 * 3600))
            out.writerow([moment.isoformat(), f"acct-{rng.randrange(accounts):05d}", rng.choice(REGIONS), "qwen-plus",
                          rng.randrange(1, 4_000), rng.randrange(0, 800), rng.randrange(1, 20)])


def measure(command: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one process, the best of three runs."""
    runs = []
    for _ in range(3):
        output = subprocess.run([sys.executable, "-c", MEASURE, *command], capture_output=True, text=True,
                                check=True).stdout.split()
        runs.append((float(output[0]), int(output[1])))
    return min(runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--accounts", type=int, default=2_000, help="accounts of the many-account case")
    arguments = parser.parse_args()
    count = arguments.records
    ratecard = [sys.executable, "-m", "ratecard.cli.ratecard", "bill", "emr-starrocks-ai-function"]
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder, "small.csv"), Path(folder, "large.csv")
        generate(small, count // 10)
        generate(large, count)
        out = ["--format", "json", "--out", str(Path(folder, "bill.json")), "--rejects", str(Path(folder, "r.csv"))]
        bare, _ = measure([sys.executable, "-c", BARE_PARSE, str(large)])
        hand, _ = measure([sys.executable, "-c", HAND_WRITTEN, str(large)])
        ours, peak_large = measure([*ratecard, str(large), *out])
        lines_large = len(json.loads(Path(folder, "bill.json").read_text())["lines"])
        _, peak_small = measure([*ratecard, str(small), *out])
        lines_small = len(json.loads(Path(folder, "bill.json").read_text())["lines"])
    print(f"{count:,} records")
    print(f"bare csv parse:        {count / bare:>10,.0f} records/s  ({bare:.2f} s)")
    print(f"hand-written rater:    {count / hand:>10,.0f} records/s  ({hand:.2f} s)")
    print(f"ratecard bill (json):  {count / ours:>10,.0f} records/s  ({ours:.2f} s)")
    print(f"ratio to the hand-written rater: {hand / ours:.2f}x (goal >= 2x)")
    print(f"ratio to the bare parse:         {bare / ours:.2f}x of its speed (goal >= 0.5x)")
    print(f"peak memory: {peak_small / 1024:.0f} MiB at {count // 10:,} records ({lines_small:,} bill lines), "
          f"{peak_large / 1024:.0f} MiB at {count:,} ({lines_large:,} bill lines): "
          f"{peak_large / peak_small:.2f}x for 10x the records (goal: flat)")
    quota = subprocess.run([sys.executable, "-c", QUOTA_CASE, "40000"], capture_output=True, text=True, check=True)
    print("one account, 40,000 one-token records inside its quota: " + ", ".join(quota.stdout.split("\n")[:2])
          + " (goal: well under 1 s)")
    with tempfile.TemporaryDirectory() as folder:
        many = Path(folder, "many.csv")
        generate_many_accounts(many, count, arguments.accounts)
        run = [sys.executable, "-c", LINES_CASE, str(many)]
        lines, held = map(int, subprocess.run([*run, "trace"], capture_output=True, text=True, check=True).stdout.split())
        output = subprocess.run([*run, "time"], capture_output=True, text=True, check=True).stdout.split()
    lines, peak, build, write = int(output[0]), int(output[1]), float(output[2]), float(output[3])
    print(f"{arguments.accounts:,} accounts, {count:,} records: {lines:,} bill lines; "
          f"{held / lines:.0f} bytes held per line (goal < 400), {peak / lines:.0f} bytes of peak RSS per line; "
          f"{build / lines * 1e6:.2f} us per line built + {write / lines * 1e6:.2f} us written as JSON "
          f"(goal < 5 us together)")


if __name__ == "__main__":
    main()
