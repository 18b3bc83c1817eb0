"""Whole-process time of `rulecheck rules/`, against a bare Python start in the same run.

    python benchmarks/rulecheck.py

Goal: `rulecheck rules/` well under half a second on this machine. Lark's
grammar cache is on (it is keyed by the grammar's hash and Lark's version, so
it is safe); the first run after a grammar change builds it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RULES = Path(__file__).resolve().parent.parent / "rules"


def median_ms(command: list[str], runs: int = 11) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    bare = median_ms([sys.executable, "-c", "pass"])
    check = median_ms([sys.executable, "-m", "ratecard.cli.rulecheck", str(RULES)])
    print(f"python -c pass:   {bare:6.0f} ms")
    print(f"rulecheck rules/: {check:6.0f} ms  ({check / bare:.1f}x a bare Python start; goal: well under 500 ms)")


if __name__ == "__main__":
    main()
