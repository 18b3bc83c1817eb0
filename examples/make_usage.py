"""Regenerate examples/usage.csv: a few hundred realistic AI Function usage records.

    python examples/make_usage.py > examples/usage.csv

Seeded, so the file is the same on every run. It has several accounts in both
region groups, accounts that cross their 1M free tokens, tier 2 and tier 3
requests, region display names, several UTC offsets, and a few bad rows that
`ratecard bill` must reject with a reason.
"""

from __future__ import annotations

import csv
import random
import sys
from datetime import datetime, timedelta, timezone

ACCOUNTS = {
    # account: (regions, typical input tokens, typical calls per record)
    "acme-analytics": (["cn-hangzhou", "cn-shanghai", "China (Beijing)"], 1_800, 60),
    "globex-search": (["us-east-1", "US (Silicon Valley)", "eu-central-1"], 2_400, 40),
    "initech-labs": (["ap-southeast-1", "Japan (Tokyo)", "cn-hongkong"], 900, 5),
    "umbrella-docs": (["cn-shenzhen", "cn-wulanchabu"], 120_000, 1),
    "hooli-mini": (["Mexico", "Indonesia (Jakarta)", "ap-northeast-1"], 300, 2),  # stays within its free quota
}
OFFSETS = [timezone(timedelta(hours=8)), timezone.utc, timezone(timedelta(hours=-5))]
BAD_ROWS = [
    ["2026-05-01T10:30:00", "acme-analytics", "cn-hangzhou", "qwen-plus", "1200", "80", "1", "bad-naive"],
    ["2026-05-01T11:00:00+08:00", "globex-search", "us-central-9", "qwen-plus", "500", "20", "1", "bad-region"],
    ["2026-05-01T12:00:00+08:00", "initech-labs", "Singapore", "qwen-max", "500", "20", "1", "bad-model"],
    ["2026-05-01T13:00:00+08:00", "initech-labs", "Singapore", "qwen-plus", "-40", "20", "1", "bad-negative"],
    ["2026-05-01T14:00:00+08:00", "umbrella-docs", "cn-shenzhen", "qwen-plus", "1200000", "900", "1", "bad-tier"],
    ["2026-05-01T15:00:00+08:00", "globex-search", "us-east-1", "qwen-plus", "12.5", "20", "1", "bad-fraction"],
    ["2026-05-01T16:00:00+08:00", "", "us-east-1", "qwen-plus", "100", "20", "1", "bad-account"],
]


def main() -> None:
    rng = random.Random(20261123)
    start = datetime(2026, 5, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    rows = []
    for number in range(300):
        account = rng.choice(list(ACCOUNTS))
        regions, typical_input, typical_calls = ACCOUNTS[account]
        moment = start + timedelta(seconds=rng.randrange(0, 3 * 24 * 3600))
        input_tokens = max(1, int(rng.gauss(typical_input, typical_input / 4)))
        if account == "umbrella-docs" and number % 7 == 0:
            input_tokens = rng.randrange(256_001, 400_000)  # a tier 3 request in the China group
        if account == "initech-labs" and number % 11 == 0:
            input_tokens = rng.randrange(256_001, 300_000)  # tier 2 in the international group
        output_tokens = rng.randrange(10, 400)
        calls = max(1, int(rng.gauss(typical_calls, typical_calls / 3)))
        rows.append([moment.astimezone(rng.choice(OFFSETS)).isoformat(), account, rng.choice(regions),
                     "qwen-plus", input_tokens, output_tokens, calls, f"req-{number:04d}"])
    for position, bad in zip(range(20, 300, 40), BAD_ROWS):
        rows.insert(position, bad)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["timestamp", "account", "region", "model", "input_tokens", "output_tokens", "requests",
                  "request_id"])
    out.writerows(rows)


if __name__ == "__main__":
    main()
