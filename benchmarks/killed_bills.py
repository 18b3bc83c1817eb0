"""A big bill killed at random moments: the output directory always holds one whole pair.

    python benchmarks/killed_bills.py [--records 2000000] [--accounts 100000] [--kills 5]

Generates seeded usage (many accounts, some bad rows), bills an "old" file to
make the previous pair (bill and rejects), then runs the bill of a "new" file
again and again, each run killed with SIGKILL at a random moment of its
duration, followed by what the next run does first (finish or undo a killed
commit). After every kill the directory must hold exactly the old pair or the
new pair, and nothing else. Issue 7's check, at full size: too slow for the
test suite, which runs the same check on 20,000 rows
(tests/test_cli_bill_outputs.py).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bill import generate_many_accounts

from ratecard.atomic import FileGroup


def pair(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def with_bad_rows(path: Path, every: int) -> None:
    lines = path.read_text().splitlines()
    for number in range(every, len(lines), every):
        lines[number] = lines[number].replace("qwen-plus", "qwen-pluss", 1)
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--kills", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        old_usage, new_usage, out = Path(folder, "old.csv"), Path(folder, "new.csv"), Path(folder, "out")
        generate_many_accounts(old_usage, arguments.records // 10, arguments.accounts, seed=1)
        generate_many_accounts(new_usage, arguments.records, arguments.accounts, seed=2)
        with_bad_rows(old_usage, 997)
        with_bad_rows(new_usage, 1009)
        out.mkdir()

        def command(usage: Path) -> list[str]:
            return [sys.executable, "-m", "ratecard.cli.ratecard", "bill", "emr-starrocks-ai-function", str(usage),
                    "--format", "json", "--out", str(out / "bill.json")]
        began = time.monotonic()
        subprocess.run(command(new_usage), stderr=subprocess.DEVNULL)
        duration, new = time.monotonic() - began, pair(out)
        subprocess.run(command(old_usage), stderr=subprocess.DEVNULL)
        old = pair(out)
        print(f"{arguments.records:,} records, {arguments.accounts:,} accounts: a whole run takes {duration:.0f} s; "
              f"the pair is {sorted(new)}")
        rng, outcomes = random.Random(7), []
        for kill in range(arguments.kills):
            subprocess.run(command(old_usage), stderr=subprocess.DEVNULL)  # the previous pair, each time
            run = subprocess.Popen(command(new_usage), stderr=subprocess.DEVNULL)
            delay = rng.uniform(0.05, 1.05) * duration
            time.sleep(delay)
            finished = run.poll() is not None
            run.send_signal(signal.SIGKILL)
            run.wait()
            with FileGroup([out / "bill.json", out / "bill.rejects.csv"]):  # what the next run does first
                pass
            state = pair(out)
            outcome = "old" if state == old else "new" if state == new else "NEITHER"
            outcomes.append(outcome)
            print(f"kill {kill + 1} at {delay:.0f} s{' (the run had finished)' if finished else ''}: "
                  f"{outcome} pair, files {sorted(state)}", flush=True)
        print("every kill left the old pair or the new one:", "NEITHER" not in outcomes)
        if "NEITHER" in outcomes:
            sys.exit(1)


if __name__ == "__main__":
    main()
