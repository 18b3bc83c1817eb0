"""Whole-process time of `rulecheck rules/`, and of checking and loading a big generated book.

    python benchmarks/rulecheck.py              # rulecheck rules/ against a bare Python start
    python benchmarks/rulecheck.py --big        # also a book of 40,000 models (11 MB)
    python benchmarks/rulecheck.py --big --models 36000 --keep /tmp/big.rules

Goal: `rulecheck rules/` well under half a second on this machine. Lark's
parse tables are cached (in ratecard's private cache directory, keyed by the
grammar's hash and Lark's version); the first run after a grammar change
builds them.

`--big` generates a seeded book as a pricing team might grow one (three
groups of regions, models priced in one or two of them, one to three tiers
per table or a flat rate, two to four token types, some `not billed`, a tenth
of the tiers also in CNY, a quota and a worked example: about 46 tokens and
280 bytes a model), then measures, each as its own process, the wall time
and peak RSS of `rulecheck BOOK`, of a first `ratecard.load` plus one quote
(empty cache), and of the same again from the cache. Goals for a 10 MB book
of 40,000 models: checking under 15 s and 400 MB, a first load and quote
under 15 s.

Measured on this 2-core machine (wall time of the whole process, peak RSS):

                              before issue 7          after
    40,000 models, 11.2 MB
      rulecheck BOOK          82.2 s  1274 MB         10.5 s  401 MB
      first load + quote      74.1 s  1669 MB         13.1 s  501 MB   (12.4 s in the process)
      cached load + quote     (7 s to unpickle)        1.9 s  265 MB   (1.1 s in the process)
    36,000 models, 10.1 MB
      rulecheck BOOK                                   9.5 s  368 MB
      first load + quote                              12.3 s  457 MB   (11.6 s in the process)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "rules"

GROUPS = {
    "china": ["cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen"],
    "international": ["cn-hongkong", "ap-southeast-1", "eu-central-1", "us-east-1"],
    "americas": ["us-west-1", "na-south-1"],
}
TOKEN_TYPES = ["input", "output", "cached_input", "reasoning"]
TIER_PLANS = [["0 < T <= 128K", "128K < T <= 256K", "256K < T <= 1M"], ["0 < T <= 256K", "256K < T <= 1M"],
              ["0 < T <= 32K", "32K < T"], [None]]

EXAMPLE_MODEL = "m-00007"  # 750 x 0.48/1M + 20 x 1.44/1M = USD 0.0003888
LOAD_AND_QUOTE = r'''
import sys, time
start = time.perf_counter()
import ratecard
book = ratecard.load(sys.argv[1])
quote = book.quote(region="us-east-1", model="m-00007", tokens={"input": 750, "output": 20})
assert str(quote.total_rounded) == "0.000389", quote
print(f"in process: {time.perf_counter() - start:.1f} s", file=sys.stderr)
'''


def median_ms(command: list[str], runs: int = 11) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def big_book(models: int = 40_000, seed: int = 7) -> str:
    """A seeded book of `models` models, about 250 bytes each."""
    pick = random.Random(seed)
    lines = ['include "alibaba-regions.rules"', "", 'book big "A big generated book" {', "  currency USD, CNY",
             "  price per 1M tokens", "  cycle hourly in UTC+8", "  round 6 half-up", ""]
    lines += [f"  group {name} = {', '.join(members)}" for name, members in GROUPS.items()]
    for index in range(models):
        lines += _model(pick, f"m-{index:05d}")
    lines += ["", "  quota welcome {", "    free 1M tokens per account", "    window 30 days from first use",
              "    consume input, output", "  }", ""]
    lines += ['  example "one call" {', f"    us-east-1 {EXAMPLE_MODEL} input 750 output 20  =>  USD 0.000389", "  }", "}"]
    return "\n".join(lines) + "\n"


def _model(pick: random.Random, name: str) -> list[str]:
    if name == EXAMPLE_MODEL:  # the one the worked example prices: flat, known prices
        return [f"  model {name} {{", "    international { input 0.48 output 1.44 }", "  }"]
    types = ["input", "output"] + pick.sample(TOKEN_TYPES[2:], pick.randint(0, 2))
    tiers = TIER_PLANS[pick.randrange(len(TIER_PLANS))]
    lines = [f"  model {name} {{"]
    if tiers[0] is not None:
        lines.append("    tier by input tokens per request")
    for group in pick.sample(sorted(GROUPS), pick.randint(1, 2)):
        lines.append(f"    {group} {{")
        for bounds in tiers:
            lines.append(f"      {bounds or ''}  {_rates(pick, types)}".rstrip())
        lines.append("    }")
    return lines + ["  }"]


def _rates(pick: random.Random, token_types: list[str]) -> str:
    in_cny = pick.random() < 0.1  # every billed type of a tier is priced in the same currencies
    rates = []
    for token_type in token_types:
        if token_type == "reasoning" and pick.random() < 0.3:
            rates.append("reasoning not billed")
            continue
        price = f"{token_type} {pick.randint(1, 9999) / 1000:.3f}"
        rates.append(price + (f", CNY {pick.randint(1, 9999) / 100:.2f}" if in_cny else ""))
    return " ".join(rates)


def measure(code: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MB) of one process, and what it said on stderr."""
    wrapper = ("import resource, subprocess, sys, time; start = time.perf_counter(); "
               "done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
               "seconds = time.perf_counter() - start; "
               "print(seconds, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, done.returncode)")
    out = subprocess.run([sys.executable, "-c", wrapper, *code], capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    seconds, peak_mb, status = out.stdout.split()
    if status not in ("0", "1"):
        raise SystemExit(f"{code} failed with status {status}: {out.stderr}")
    return float(seconds), float(peak_mb), out.stderr.strip()


def big(models: int, keep: str | None) -> None:
    folder = Path(keep).parent if keep else Path(tempfile.mkdtemp(prefix="ratecard-big-"))
    path = Path(keep) if keep else folder / "big.rules"
    path.write_text(big_book(models), encoding="utf-8")
    size = path.stat().st_size / 1e6
    cache = tempfile.mkdtemp(prefix="ratecard-big-cache-")
    print(f"big book: {models:,} models, {size:.1f} MB ({path})")
    figures = [
        ("rulecheck BOOK", [sys.executable, "-m", "ratecard.cli.rulecheck", str(path)], {}),
        ("first load + quote", [sys.executable, "-c", LOAD_AND_QUOTE, str(path)], {"RATECARD_CACHE_DIR": cache}),
        ("cached load + quote", [sys.executable, "-c", LOAD_AND_QUOTE, str(path)], {"RATECARD_CACHE_DIR": cache}),
    ]
    for label, command, env in figures:
        seconds, peak, said = measure(command, env)
        print(f"  {label:<20} {seconds:6.1f} s  peak {peak:5.0f} MB  {said}")
    print("  goals: rulecheck under 15 s and 400 MB; first load + quote under 15 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", action="store_true", help="also check and load a big generated book")
    parser.add_argument("--models", type=int, default=40_000)
    parser.add_argument("--keep", metavar="PATH", help="write the big book here and keep it")
    args = parser.parse_args()
    bare = median_ms([sys.executable, "-c", "pass"])
    check = median_ms([sys.executable, "-m", "ratecard.cli.rulecheck", str(RULES)])
    print(f"python -c pass:   {bare:6.0f} ms")
    print(f"rulecheck rules/: {check:6.0f} ms  ({check / bare:.1f}x a bare Python start; goal: well under 500 ms)")
    if args.big:
        big(args.models, args.keep)


if __name__ == "__main__":
    main()
