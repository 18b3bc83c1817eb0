"""Per-call time of `book.quote` against a hand-written dict + Decimal rater.

Both run in the same process on the same requests; the figure that matters is
the ratio. Also times `import ratecard` plus loading a shipped book, as a whole
process, against a bare `python -c pass`.

    python benchmarks/quote.py
Goals: within 3x of the hand-written baseline, under 2 us per quote, and
import + load under 150 ms.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import timeit
from decimal import Decimal

import ratecard

D = Decimal
REQUESTS = [("us-east-1", 750, 20), ("cn-hangzhou", 200_000, 900), ("eu-central-1", 300_000, 4_000),
            ("cn-beijing", 12, 0)]
GROUP = {"us-east-1": "international", "eu-central-1": "international", "cn-hangzhou": "china",
         "cn-beijing": "china"}
TIERS = {
    "china": [(128_000, D("0.000138"), D("0.000344")), (256_000, D("0.000414"), D("0.003442")),
              (1_000_000, D("0.000827"), D("0.008257"))],
    "international": [(256_000, D("0.000480"), D("0.001440")), (1_000_000, D("0.001440"), D("0.004320"))],
}


def hand_written(region: str, model: str, tokens: dict) -> Decimal:
    """What a billing engineer would write by hand for this one price table."""
    input_tokens = tokens["input"]
    for upper, price_in, price_out in TIERS[GROUP[region]]:
        if input_tokens <= upper:
            return price_in * input_tokens / 1000 + price_out * tokens["output"] / 1000
    raise ValueError("beyond the highest tier")


def per_call(function, number: int = 100_000) -> float:
    def run():
        for region, tokens_in, tokens_out in REQUESTS:
            function(region, "qwen-plus", {"input": tokens_in, "output": tokens_out})
    return min(timeit.repeat(run, number=number // len(REQUESTS), repeat=5)) / (number // len(REQUESTS)) \
        / len(REQUESTS)


def process_ms(code: str, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    book = ratecard.load("emr-starrocks-ai-function")
    for region, tokens_in, tokens_out in REQUESTS:  # the two agree before they are timed
        tokens = {"input": tokens_in, "output": tokens_out}
        assert book.quote(region=region, model="qwen-plus", tokens=tokens).total == hand_written(
            region, "qwen-plus", tokens)

    def engine(region, model, tokens):
        return book.quote(region=region, model=model, tokens=tokens)

    baseline = per_call(hand_written)
    ours = per_call(engine)
    print(f"hand-written dict + Decimal: {baseline * 1e6:.2f} us/call")
    print(f"ratecard book.quote:         {ours * 1e6:.2f} us/call")
    print(f"ratio: {ours / baseline:.2f}x the hand-written baseline (goal <= 3x, and < 2 us/call)")

    bare = process_ms("pass")
    loaded = process_ms("import ratecard; ratecard.load('emr-starrocks-ai-function')")
    print(f"python -c pass: {bare:.0f} ms; import ratecard + load a shipped book: {loaded:.0f} ms "
          f"({loaded - bare:.0f} ms over bare Python; goal < 150 ms)")


if __name__ == "__main__":
    main()
