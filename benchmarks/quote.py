"""Per-call time of `book.quote` against a hand-written dict + Decimal rater.

Both run in the same process on the same requests; the figure that matters is
the ratio. The same for a tier chosen by the whole prompt (Claude Sonnet 4.5 in
tests/books/whole-prompt.rules: input + cache_read + cache_write), by the model's
ID and by an alias. Also times `import ratecard` plus loading a shipped book, as
a whole process, against a bare `python -c pass`.

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


def per_call(function, number: int = 100_000, model: str = "qwen-plus", requests=None) -> float:
    calls = [(region, {"input": tokens_in, "output": tokens_out}) for region, tokens_in, tokens_out in REQUESTS] \
        if requests is None else requests

    def run():
        for region, tokens in calls:
            function(region, model, tokens)
    return min(timeit.repeat(run, number=number // len(calls), repeat=5)) / (number // len(calls)) / len(calls)


SONNET = "anthropic/claude-sonnet-4.5"
PROMPTS = [("aws:us-east-1", {"input": 150_000, "cache_read": 60_000, "output": 1_000}),
           ("aws:us-east-1", {"input": 2_000, "cache_read": 40_000, "cache_write": 500, "output": 300}),
           ("aws:us-east-1", {"input": 750, "output": 20})]
SONNET_TIERS = [(200_000, {"input": D(3), "output": D(15), "cache_read": D("0.30"), "cache_write": D("3.75")}),
                (1_000_000, {"input": D(6), "output": D("22.50"), "cache_read": D("0.60"), "cache_write": D("7.50")})]


def hand_written_prompt(region: str, model: str, tokens: dict) -> Decimal:
    """By hand: the tier of the whole prompt, then every token type at that tier's price per 1M tokens."""
    prompt = tokens.get("input", 0) + tokens.get("cache_read", 0) + tokens.get("cache_write", 0)
    for upper, prices in SONNET_TIERS:
        if prompt <= upper:
            return sum(prices[t] * n for t, n in tokens.items()) / 1_000_000
    raise ValueError("beyond the highest tier")


def whole_prompt() -> None:
    from pathlib import Path
    book = ratecard.load(Path(__file__).resolve().parent.parent / "tests" / "books" / "whole-prompt.rules")
    for region, tokens in PROMPTS:
        assert book.quote(region=region, model=SONNET, tokens=tokens).total == hand_written_prompt(region, SONNET,
                                                                                                   tokens)

    def engine(region, model, tokens):
        return book.quote(region=region, model=model, tokens=tokens)

    baseline = per_call(hand_written_prompt, model=SONNET, requests=PROMPTS)
    by_id = per_call(engine, model=SONNET, requests=PROMPTS)
    by_alias = per_call(engine, model="claude-sonnet-4-5-20250929", requests=PROMPTS)
    print(f"whole-prompt tier, hand-written: {baseline * 1e6:.2f} us/call")
    print(f"  book.quote by the model's ID:  {by_id * 1e6:.2f} us/call ({by_id / baseline:.2f}x)")
    print(f"  book.quote by an alias:        {by_alias * 1e6:.2f} us/call ({by_alias / baseline:.2f}x)")


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
    whole_prompt()

    bare = process_ms("pass")
    loaded = process_ms("import ratecard; ratecard.load('emr-starrocks-ai-function')")
    print(f"python -c pass: {bare:.0f} ms; import ratecard + load a shipped book: {loaded:.0f} ms "
          f"({loaded - bare:.0f} ms over bare Python; goal < 150 ms)")


if __name__ == "__main__":
    main()
