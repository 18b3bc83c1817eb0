"""The whole imported genai-prices catalogue: `rulecheck` of every provider's book, and loading one for quoting.

Imports every provider of the installed genai-prices (the `import` extra) into a temporary directory, then
times, as whole processes, `rulecheck DIR` with the compiled-book cache cold (an empty cache directory) and
warm (a second run), against a bare `python -c pass`; and in this process, loading the largest book once
cached, then a quote of each of its models.

    python benchmarks/catalogue.py
Goals (issue 8): rulecheck of the whole catalogue under 3 s; one provider's book loaded for quoting in under
150 ms once cached.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import ratecard
from ratecard.importers import genai_prices


def process_s(command: list[str], env: dict[str, str], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=False, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    with tempfile.TemporaryDirectory() as work:
        books, report = genai_prices.import_catalogue(verify=0)
        folder = Path(work) / "books"
        folder.mkdir()
        for book in books:
            (folder / book.file).write_text(book.text, encoding="utf-8")
        size = sum(p.stat().st_size for p in folder.iterdir())
        models = sum(len(b.models) for b in books)
        print(f"{len(books)} books, {models:,} models, {size / 1024:.0f} KiB of rules")
        env = dict(os.environ, RATECARD_CACHE_DIR=str(Path(work) / "cache"))
        rulecheck = [sys.executable, "-m", "ratecard.cli.rulecheck", str(folder)]
        bare = process_s([sys.executable, "-c", "pass"], env)
        cold = min(process_s(rulecheck, env | {"RATECARD_CACHE_DIR": str(Path(work) / f"cold{n}")}, 1)
                   for n in range(3))
        warm = process_s(rulecheck, env)
        print(f"python -c pass: {bare * 1000:.0f} ms")
        print(f"rulecheck of the whole catalogue: {cold:.2f} s with a cold cache, {warm:.2f} s warm (goal < 3 s)")
        largest = max(books, key=lambda b: len(b.models))
        path = folder / largest.file
        os.environ["RATECARD_CACHE_DIR"] = env["RATECARD_CACHE_DIR"]
        ratecard.load(path)  # fills the cache if rulecheck did not
        start = time.perf_counter()
        book = ratecard.load(path)
        loaded = time.perf_counter() - start
        print(f"load {largest.file} ({len(largest.models)} models) once cached: {loaded * 1000:.1f} ms "
              f"(goal < 150 ms)")
        start = time.perf_counter()
        for spec in largest.models:
            book.quote(region="api", model=spec.id, tokens={t: 1000 for t in spec.counted})
        per = (time.perf_counter() - start) / len(largest.models)
        print(f"a quote of each of its models: {per * 1e6:.1f} us each")


if __name__ == "__main__":
    main()
