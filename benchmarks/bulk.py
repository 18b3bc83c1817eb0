"""Bulk billing: `ratecard bill --engine duckdb` against a parse floor, a hand-written DuckDB query, the Python engine.

    python benchmarks/bulk.py [--records 10000000] [--seed 1] [--accounts 5000] [--workdir DIR]
                              [--skip-python] [--spark] [--only NAME,...] [--check-records 20000]
                              [--memory-limit 1.5GB] [--timeout 3600] [--keep-outputs]

Usage. Seeded usage for the shipped book `emr-starrocks-ai-function`, made once per
(records, seed, accounts) and cached in `--workdir` (default /tmp/ratecard-bulk), as CSV
(`timestamp,account,region,model,input_tokens,output_tokens,requests,request_id`) and
as the same data in Parquet (typed: TIMESTAMPTZ, BIGINT counts, text names):
- 5,000 accounts; a tenth from 2026-01-01, the rest joining during January (the last
  ones in early February), a few very busy, most light, each with a home region;
- both region groups, every region; 90% by ID, 8% by display name (`US (Virginia)`),
  2% by display name in lower case;
- input tokens per request: 93.5% 20 to 4,000, 4.5% up to 128K, 1% in china's tier 2
  (128K to 256K), 0.5% in tier 3 (up to 1M), 0.3% exactly 128K, 256K or 1M, 0.2% zero;
- two months of timestamps (2026-01-01 to 2026-03-01 UTC+8, whole seconds, written
  with +08:00), in rough time order (up to a minute out), 3% of records sharing the
  previous record's timestamp and account (ties);
- `requests` 1 for 85% of records, 2 to 10 for 13%, 11 to 50 for 2%; unique request_ids,
  not in file order (so ties are broken by request_id, not by position).
Every account has quota credit and about half use all of it at 1M records (2,480 of
5,000; more at 10M); accounts that start on 29 to 31 January have windows ending on 28
February (the month-end clamp). The rows are made by DuckDB from hashes of (row, seed),
so a file is the same on every run of one DuckDB version whatever the threads; 1M rows
take about 2 s (CSV and Parquet), so 10M about 20 s (not run here). (The generators of bill.py and
examples/make_usage.py write row by row through csv.writer, far too slow for 10M rows,
and make other shapes of usage, so nothing of theirs is imported; the style is theirs.)

Runs, each as its own process, measured with /usr/bin/time -v (wall seconds, peak RSS
of the largest process), else getrusage in a wrapper process; `sampled MB` is the peak
total RSS of the whole process group sampled every 0.2 s (it sees a Spark JVM too, and
misses runs shorter than that):
  parse           pyarrow.csv.read_csv of the CSV, threaded: the floor of any CSV biller
  sql             a hand-written DuckDB query of the same rating with the free quota by
                  window functions, bill lines (account, cycle, region, model, tier,
                  token type, kind, quantity, unit price, DECIMAL(38,9) amount) to CSV
                  (its text is kept in the workdir: handwritten-sql.sql)
  sql-noquota     the same without the quota
  sql-parquet     the hand-written query (with the quota) from the Parquet file
  python          ratecard bill emr-starrocks-ai-function FILE --engine python --format csv --out OUT
                  (`--engine python` only where the option exists: its `auto` picks DuckDB
                  for files of 64 MiB or more)
  duckdb          ratecard bill emr-starrocks-ai-function FILE --engine duckdb --memory-limit 1.5GB
                  --format csv --out OUT
  duckdb-parquet  the same from the Parquet file
  spark           (--spark) ratecard.spark.bill(book, DataFrame of the CSV) on local[2],
                  written with ratecard.writers.write_bill as CSV; skipped when
                  `ratecard.spark` does not import
DuckDB gets `--memory-limit` (1.5GB) in both the hand-written query and the engine; the
hand-written query also 2 threads and a temp directory in the workdir (the engine uses
its own defaults for those: DuckDB's threads are the machine's cores, 2 here). A command
or option that is not there (before `--engine duckdb` existed) is reported as not
available, not a crash; a run longer than `--timeout` is ended (its process group) and
reported.

Prints a table (seconds, records/s, peak RSS MB) and the ratios the goals are stated in:
the duckdb engine's speed as a fraction of the hand-written query's, how many times
faster than the Python engine, how many times slower than the parse floor, and Parquet
vs CSV; then the exact totals (list, quota credits, billed) of every bill made,
against the Python engine's (with --skip-python, against the hand-written query's).
Exits 1 when a cross-check or a comparison of totals finds a difference.

Before that, a cross-check (`--check-records`, default 20,000; 0 skips it) bills three
small inputs with the Python engine, the hand-written query and the duckdb engine (CSV
and Parquet), and compares them line by line and in total, exactly: 20,000 records of
5,000 accounts, 20,000 records of 100 accounts (51 use up their quota: crossings, ties,
window ends), and the hand-made EDGE_RECORDS (the window's exclusive end and month-end
clamp in UTC+8, ties at the crossing point, a crossing between input and output and
within a record's requests, tier bounds, a request above 1M (rejected), names in any
case and spacing). Each of these mistakes in the hand-written query makes the check
fail: ties by request_id descending, a 30-day window, the window in UTC, an inclusive
window end, output before input, tokens of one request instead of all.

Figures (2-core machine shared with other work, so +-20% and more; DuckDB 2.0.1,
pyarrow 26; the duckdb and Spark engines as they were on 2026-12-02, still being
written: 200K before commit b35ea19, 1M at 6f5e82b). These usage files make about two bill lines per
record (2.1M lines at 1M records: most account-hours have one record), and both
ratecard engines spend most of their time making and writing lines in Python (a
profile of `--engine duckdb` at 200K: 17 of 21 s in write_bill, 3 s in the query);
the parse floor and the hand-written query do not.

    200,000 records (556,137 bill lines)     seconds   records/s   peak RSS MB
    pyarrow.csv.read_csv (parse floor)          0.25     798,963           121
    hand-written DuckDB query                   1.71     116,645           480
    hand-written query, no quota                1.08     185,775           348
    hand-written query, Parquet                 1.52     131,325           485
    ratecard bill (Python engine)              12.55      15,934           309
    ratecard bill --engine duckdb              12.55      15,937           315
    ratecard bill --engine duckdb, Parquet     12.52      15,976           284
    ratecard.spark, local[2] (--spark)        121.89       1,641    2,670 (JVM)

    1,000,000 records (2,097,454 bill lines; engine at commit 6f5e82b)
    pyarrow.csv.read_csv (parse floor)          0.67   1,492,937           301
    hand-written DuckDB query                   6.04     165,643         1,269
    hand-written query, no quota                4.27     234,125           939
    hand-written query, Parquet                 5.34     187,244         1,254
    ratecard bill (Python engine)              50.81      19,680         1,080
    ratecard bill --engine duckdb              37.52      26,653           737
    ratecard bill --engine duckdb, Parquet     41.86      23,887           717
    duckdb engine: 0.16x the hand-written query's speed, 1.35x faster than the Python
    engine, 56x slower than the parse floor; Parquet 0.90x of CSV (no faster). Every
    bill's exact totals equal the Python engine's. (Run to run on this machine: the
    same duckdb case took 38 to 52 s, the hand-written query 3 to 6 s.)

    1,000,000 records of 200 accounts (--accounts 200: 612,407 bill lines)
    parse floor 0.28 s; hand-written query 2.62 s; Python engine 19.04 s;
    duckdb engine 24.89 s (CSV), 22.10 s (Parquet)

    10,000,000 records (8,558,822 bill lines; engine as of 2026-12-02 17:00, after DuckDB writes the
    CSV itself; two runs of this script, the hand-written query given 4GB, the engine 1GB; the Python
    engine's figure from the first run, when the others shared the machine with it)
    pyarrow.csv.read_csv (parse floor)          3.90-5.08   1,966,664         2,311
    hand-written DuckDB query                  20.61          485,109         3,974
    hand-written query, no quota               21.37          468,007         1,576
    hand-written query, Parquet                14.70          680,340         3,954
    (hand-written query with the quota, at 1.5GB: out of memory)
    ratecard bill (Python engine)             271.39           36,847         3,517
    ratecard bill --engine duckdb             122.40           81,701         1,200
    ratecard bill --engine duckdb, Parquet    120.28           83,142         1,192
    duckdb engine: 0.17x the hand-written query's speed (with the quota), 2.2x faster than the
    Python engine, 24-31x slower than the parse floor; Parquet 1.02x of CSV; peak RSS 1.2 GB at a 1GB
    DuckDB limit (the hand-written query needs about 4 GB). Every bill's exact totals equal.
    ratecard.spark on local[2], 1M records (--spark --only spark): 132.7 s, 2.8 GB (the JVM); 10M not run.
    Where the engine's time goes (1M records, stage by stage): its CSV writer 35% (the rounding
    allocation's windows and sorts over every line), validating and placing records 23%, reading
    lines into DuckDB 20%, summing lines 14%.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

BOOK = "emr-starrocks-ai-function"
GENERATOR_VERSION = 1  # part of the cache key: bump when the generated data changes
DUCKDB_SETTINGS = {"threads": 2, "memory_limit": "1.5GB"}

# The book's regions (rules/alibaba-regions.rules), written here by hand as a billing engineer would.
CHINA = ["cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou", "cn-wulanchabu"]
INTERNATIONAL = ["ap-southeast-1", "cn-hongkong", "eu-central-1", "us-east-1", "us-west-1", "ap-northeast-1",
                 "ap-southeast-5", "na-south-1"]
DISPLAY_NAMES = {
    "cn-beijing": ["China (Beijing)", "Beijing"], "cn-shanghai": ["China (Shanghai)", "Shanghai"],
    "cn-hangzhou": ["China (Hangzhou)", "Hangzhou"], "cn-shenzhen": ["China (Shenzhen)", "Shenzhen"],
    "cn-qingdao": ["China (Qingdao)", "Qingdao"], "cn-zhangjiakou": ["China (Zhangjiakou)", "Zhangjiakou"],
    "cn-wulanchabu": ["China (Ulanqab)", "Ulanqab"], "cn-hongkong": ["China (Hong Kong)", "Hong Kong"],
    "ap-southeast-1": ["Singapore"], "eu-central-1": ["Germany (Frankfurt)", "Frankfurt"],
    "us-east-1": ["US (Virginia)", "Virginia"], "us-west-1": ["US (Silicon Valley)", "Silicon Valley"],
    "ap-northeast-1": ["Japan (Tokyo)", "Tokyo"], "ap-southeast-5": ["Indonesia (Jakarta)", "Jakarta"],
    "na-south-1": ["Mexico (Queretaro)", "Mexico", "Queretaro"],
}
# USD per 1K tokens: (group, tier, label, upper bound, input, output), as in rules/emr-starrocks-ai-function.rules.
TIERS = [
    ("china", 1, "0 < T <= 128K", 128_000, "0.000138", "0.000344"),
    ("china", 2, "128K < T <= 256K", 256_000, "0.000414", "0.003442"),
    ("china", 3, "256K < T <= 1M", 1_000_000, "0.000827", "0.008257"),
    ("international", 1, "0 < T <= 256K", 256_000, "0.000480", "0.001440"),
    ("international", 2, "256K < T <= 1M", 1_000_000, "0.001440", "0.004320"),
]
FREE_TOKENS = 1_000_000
UTC8_US = 8 * 3600 * 1_000_000  # the book's zone, UTC+8, in microseconds
HOUR_US = 3600 * 1_000_000

START_S = 1767196800  # 2026-01-01T00:00:00+08:00
SPAN_S = 59 * 86400  # to 2026-03-01T00:00:00+08:00
RAMP_S = 31 * 86400  # accounts join during January

COLUMNS = "timestamp,account,region,model,input_tokens,output_tokens,requests,request_id"
CSV_TYPES = ("{'timestamp': 'TIMESTAMPTZ', 'account': 'VARCHAR', 'region': 'VARCHAR', 'model': 'VARCHAR', "
             "'input_tokens': 'BIGINT', 'output_tokens': 'BIGINT', 'requests': 'BIGINT', 'request_id': 'VARCHAR'}")


def connect(workdir: Path):
    """A DuckDB connection with the benchmark's limits: 2 threads, 1.5GB, spilling to the workdir."""
    import duckdb

    connection = duckdb.connect(config={**DUCKDB_SETTINGS, "temp_directory": str(workdir / "duckdb-tmp")})
    connection.execute("SET enable_progress_bar = false")
    return connection


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# -- generation -----------------------------------------------------------------------------------------------


def generation_query(records: int, seed: int, accounts: int) -> str:
    """The seeded usage rows, every value a function of (row, seed): the same on any number of threads.

    Columns: i (the row), t (epoch seconds), and the CSV's columns but the timestamp."""
    regions = CHINA + INTERNATIONAL
    region_rows = ", ".join(f"({k}, {_sql_text(r)}, {_sql_text(DISPLAY_NAMES[r][0])})" for k, r in enumerate(regions))
    first_accounts = max(1, accounts // 10)

    def h(row: str, k: int) -> str:  # a 64-bit hash of (row, seed, k)
        return f"hash({row}, {seed}::BIGINT, {k}::BIGINT)"

    def u(row: str, k: int) -> str:  # uniform in [0, 1)
        return f"({h(row, k)}::DOUBLE / 18446744073709551616.0)"

    def log_uniform(low: int, high: int) -> str:
        return f"floor(exp(ln({low}) + u5 * (ln({high}) - ln({low}))))::BIGINT"

    return f"""
WITH regions(k, id, display) AS (VALUES {region_rows}),
timed AS (  -- 3% of rows share the previous row's timestamp and account (j = i - 1): ties
  SELECT i, j,
    {START_S} + least({SPAN_S - 1}, greatest(0, floor(j * {SPAN_S / records!r} + ({u('j', 2)} - 0.5) * 120)))::BIGINT
      AS t
  FROM (SELECT i, CASE WHEN i > 0 AND {u('i', 1)} < 0.03 THEN i - 1 ELSE i END AS j FROM range({records}) AS r(i))
),
placed AS (  -- a tenth of the accounts from the start, the rest joining during January; low numbers busier
  SELECT i, t,
    floor(pow({u('j', 3)}, 3)
          * ({first_accounts} + {accounts - first_accounts} * least(1.0, (t - {START_S}) / {RAMP_S})))::BIGINT
      AS account_n,
    {u('i', 4)} AS u4, {u('i', 5)} AS u5, {h('i', 5)} AS h5, {u('i', 6)} AS u6, {u('i', 7)} AS u7,
    {u('i', 8)} AS u8, {h('i', 9)} AS h9, {u('i', 11)} AS u11, {h('i', 12)} AS h12, {u('i', 13)} AS u13
  FROM timed
),
usage AS (
  SELECT i, t, account_n,
    CASE WHEN u11 < 0.8  -- 80% in the account's home region (60% of accounts in china)
         THEN CASE WHEN {h('account_n', 10)} % 1000 < 600 THEN {h('account_n', 12)} % {len(CHINA)}
                   ELSE {len(CHINA)} + {h('account_n', 12)} % {len(INTERNATIONAL)} END
         ELSE h12 % {len(regions)} END AS region_k,
    u13 AS name_choice,
    CASE WHEN u4 < 0.002 THEN 0
         WHEN u4 < 0.005 THEN [128000, 256000, 1000000][1 + (h5 % 3)::INT]  -- on a tier bound
         WHEN u4 < 0.940 THEN {log_uniform(20, 4000)}
         WHEN u4 < 0.985 THEN {log_uniform(4000, 128000)}
         WHEN u4 < 0.995 THEN 128001 + (h5 % 128000)::BIGINT
         ELSE 256001 + (h5 % 744000)::BIGINT END AS input_tokens,
    CASE WHEN u6 < 0.03 THEN 0 ELSE floor(exp(u7 * ln(2000)))::BIGINT END AS output_tokens,
    CASE WHEN u8 < 0.85 THEN 1 WHEN u8 < 0.98 THEN 2 + (h9 % 9)::BIGINT ELSE 11 + (h9 % 40)::BIGINT END
      AS requests,
    'r' || lower(lpad(to_hex(((i::HUGEINT * 680564733841 + {seed} * 7919) % 1099511627776)::BIGINT), 10, '0'))
      AS request_id  -- i -> i * odd mod 2^40 is one to one
  FROM placed
)
SELECT u.i, u.t, 'acct-' || lpad(u.account_n::VARCHAR, 5, '0') AS account,
  CASE WHEN name_choice < 0.08 THEN g.display WHEN name_choice < 0.10 THEN lower(g.display) ELSE g.id END AS region,
  'qwen-plus' AS model, input_tokens, output_tokens, requests, request_id
FROM usage u JOIN regions g ON g.k = u.region_k
"""


def generate(workdir: Path, records: int, seed: int, accounts: int, quiet: bool = False) -> tuple[Path, Path]:
    """The CSV and Parquet files of (records, seed, accounts), made unless cached."""
    stem = f"usage-v{GENERATOR_VERSION}-n{records}-s{seed}-a{accounts}"
    csv_path, parquet_path = workdir / f"{stem}.csv", workdir / f"{stem}.parquet"
    if csv_path.exists() and parquet_path.exists():
        return csv_path, parquet_path
    began = time.perf_counter()
    query = generation_query(records, seed, accounts)
    connection = connect(workdir)
    for path, projection, options in (
            (csv_path, f"strftime(make_timestamp((t + 28800) * 1000000), '%Y-%m-%dT%H:%M:%S+08:00') AS timestamp, "
                       f"{COLUMNS.split(',', 1)[1]}", "FORMAT csv, HEADER true"),
            (parquet_path, f"to_timestamp(t) AS timestamp, {COLUMNS.split(',', 1)[1]}",
             "FORMAT parquet, COMPRESSION zstd")):
        # Streamed in row order (DuckDB keeps the insertion order of range()), in chunks, by two threads.
        partial = path.with_name(path.name + f".partial-{os.getpid()}")
        connection.execute(f"COPY (SELECT {projection} FROM ({query})) TO {_sql_text(str(partial))} ({options})")
        os.replace(partial, path)
    connection.close()
    if not quiet:
        print(f"generated {records:,} records ({accounts:,} accounts, seed {seed}) in "
              f"{time.perf_counter() - began:.1f} s: {csv_path} ({csv_path.stat().st_size / 1e6:,.0f} MB), "
              f"{parquet_path.name} ({parquet_path.stat().st_size / 1e6:,.0f} MB)", flush=True)
    return csv_path, parquet_path


# Hand-made records at the edges of the rules, billed in the cross-check beside the generated files.
EDGE_RECORDS = [
    # the window: first use 31 January 10:00 UTC+8, so it ends 28 February 10:00 (the clamp), exclusive
    ("2026-01-31T10:00:00+08:00", "edge-window", "cn-beijing", 1000, 10, 1, "w1"),
    ("2026-02-28T09:59:59+08:00", "edge-window", "cn-beijing", 1000, 10, 1, "w2"),
    ("2026-02-28T10:00:00+08:00", "edge-window", "cn-beijing", 1000, 10, 1, "w3"),
    ("2026-02-28T02:00:00Z", "edge-window", "cn-beijing", 1000, 10, 1, "w4"),  # the same instant as w3
    # first use 31 January 05:00 UTC+8 (30 January in UTC): the window ends 28 February 05:00 UTC+8
    ("2026-01-31T05:00:00+08:00", "edge-zone", "us-east-1", 100, 0, 1, "z1"),
    ("2026-02-28T04:59:59+08:00", "edge-zone", "us-east-1", 100, 0, 1, "z2"),
    ("2026-02-28T06:00:00+08:00", "edge-zone", "us-east-1", 100, 0, 1, "z3"),
    # three records at one instant cross the quota: request_id order (a, b, c), not file order; own tiers
    ("2026-01-05T12:00:00+08:00", "edge-ties", "cn-hangzhou", 100_000, 50, 1, "c"),
    ("2026-01-05T12:00:00+08:00", "edge-ties", "cn-hangzhou", 300_000, 200_000, 1, "b"),
    ("2026-01-05T12:00:00+08:00", "edge-ties", "China (Hangzhou)", 600_000, 0, 1, "a"),
    ("2026-01-05T11:59:59+08:00", "edge-ties", "cn-hangzhou", 0, 0, 1, "0"),  # first use, no tokens
    # a record whose input fits and whose output crosses; one whose requests cross in its input
    ("2026-01-02T00:00:00+08:00", "edge-cross", "ap-southeast-1", 999_000, 0, 1, "x1"),
    ("2026-01-02T00:59:59+08:00", "edge-cross", "Singapore", 500, 1000, 1, "x2"),
    ("2026-01-02T01:00:00+08:00", "edge-cross", "singapore", 500, 1000, 1, "x3"),
    ("2026-01-03T00:00:00+08:00", "edge-requests", "cn-shenzhen", 300_000, 7, 5, "q1"),
    ("2026-01-03T00:00:01+08:00", "edge-requests", "cn-shenzhen", 10, 7, 5, "q2"),
    # tier bounds (lower-exclusive, upper-inclusive), 0 input in tier 1, above the top tier (a reject)
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 128_000, 1, 1, "t1"),
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 128_001, 1, 1, "t2"),
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 256_000, 1, 1, "t3"),
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 256_001, 1, 1, "t4"),
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 1_000_000, 1, 1, "t5"),
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 0, 5, 1, "t6"),
    ("2026-01-10T00:00:00+08:00", "edge-tiers", "cn-qingdao", 1_000_001, 1, 1, "t7"),
    ("2026-03-10T00:00:00+08:00", "edge-tiers", "us-west-1", 256_000, 1, 2, "t8"),
    ("2026-03-10T00:00:00+08:00", "edge-tiers", "US (Silicon Valley)", 256_001, 1, 2, "t9"),
    # names: display names in any case and spacing, fields with spaces around them
    ("2026-01-20T23:59:59+08:00", "edge-names", "US  (virginia)", 10, 10, 1, "n1"),
    ("2026-01-21T00:00:00+08:00", " edge-names ", " china (hong kong) ", 10, 10, 1, " n2 "),
    ("2026-01-20T15:59:59.999999Z", "edge-names", "Mexico", 10, 10, 1, "n3"),
]


def write_edges(workdir: Path) -> Path:
    path = workdir / "edges.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS.split(","))
        for timestamp, account, region, tokens_in, tokens_out, requests, request_id in EDGE_RECORDS:
            writer.writerow([timestamp, account, region, "qwen-plus", tokens_in, tokens_out, requests, request_id])
    return path


# -- the hand-written query -----------------------------------------------------------------------------------


def handwritten_query(usage: Path, out: Path, quota: bool = True) -> str:
    """One SQL script: the book's rating, the free quota by window functions, bill lines to `out` (CSV)."""
    names = []
    for group, ids in (("china", CHINA), ("international", INTERNATIONAL)):
        for region in ids:
            for name in {region, *DISPLAY_NAMES[region]}:
                names.append(f"({_sql_text(' '.join(name.casefold().split()))}, {_sql_text(region)}, '{group}')")
    prices = ", ".join(f"('{group}', {tier}, '{label}', '{token_type}', {price}::DECIMAL(12, 6), "
                       f"{Decimal(price).scaleb(-3):f}::DECIMAL(12, 9))"  # per token: exact, never a division in SQL
                       for group, tier, label, _, price_in, price_out in TIERS
                       for token_type, price in (("input", price_in), ("output", price_out)))

    def tier_case(group: str) -> str:
        rows = [t for t in TIERS if t[0] == group]
        return "CASE " + " ".join(f"WHEN tin <= {upper} THEN {tier}" for _, tier, _, upper, _, _ in rows) + " END"

    if usage.suffix == ".parquet":
        source = f"read_parquet({_sql_text(str(usage))})"
    else:
        source = f"read_csv({_sql_text(str(usage))}, header = true, columns = {CSV_TYPES})"
    credits = f"""
-- The free quota: each account's first {FREE_TOKENS:,} tokens (input before output within a record) within one
-- calendar month of its first use (UTC+8 wall clock; 31 January + 1 month = 28 February), in timestamp order,
-- ties by request_id (then region, model, per-request counts, requests), credited at the record's own tier.
CREATE OR REPLACE TEMP TABLE windows AS
  SELECT account, epoch_us(make_timestamp(min(t) + {UTC8_US}) + INTERVAL 1 MONTH) - {UTC8_US} AS window_end
  FROM rated GROUP BY account;
-- Only the days up to the one that uses up an account's quota can earn credit: the window below sorts those only.
CREATE OR REPLACE TEMP TABLE quota_days AS
  SELECT account, day FROM (
    SELECT account, day, sum(tokens) OVER (PARTITION BY account ORDER BY day) - tokens AS before
    FROM (SELECT r.account, (r.t + {UTC8_US}) // {24 * HOUR_US} AS day, sum(r.qin + r.qout) AS tokens
          FROM rated r JOIN windows w USING (account) WHERE r.t < w.window_end GROUP BY ALL))
  WHERE before < {FREE_TOKENS};
CREATE OR REPLACE TEMP TABLE credits AS
  SELECT account, cycle, region, grp, model, tier,
         sum(least(qin, {FREE_TOKENS} - before)) AS quota_input,
         sum(greatest(0, least(qout, {FREE_TOKENS} - before - qin))) AS quota_output
  FROM (
    SELECT r.*, sum(r.qin + r.qout) OVER (PARTITION BY r.account ORDER BY r.t, r.request_id, r.region, r.model,
                                           r.tin, r.tout, r.n ROWS UNBOUNDED PRECEDING) - (r.qin + r.qout) AS before
    FROM rated r JOIN windows w USING (account) SEMI JOIN quota_days d
      ON d.account = r.account AND d.day = (r.t + {UTC8_US}) // {24 * HOUR_US}
    WHERE r.t < w.window_end)
  WHERE before < {FREE_TOKENS}
  GROUP BY ALL;
""" if quota else ""
    quota_lines = """
  UNION ALL SELECT account, cycle, region, grp, model, tier, 'input', 'quota', quota_input FROM credits
    WHERE quota_input > 0
  UNION ALL SELECT account, cycle, region, grp, model, tier, 'output', 'quota', quota_output FROM credits
    WHERE quota_output > 0""" if quota else ""
    return f"""
CREATE OR REPLACE TEMP TABLE regions(name VARCHAR, region VARCHAR, grp VARCHAR);
INSERT INTO regions VALUES {', '.join(names)};
CREATE OR REPLACE TEMP TABLE prices(grp VARCHAR, tier INTEGER, label VARCHAR, token_type VARCHAR,
                                     price DECIMAL(12, 6), per_token DECIMAL(12, 9));
INSERT INTO prices VALUES {prices};
-- One pass over the usage: region by ID or display name (case and spacing aside), tier by per-request input
-- tokens (a request above 1M is not billed), tokens of all the record's requests, the hourly cycle in UTC+8.
CREATE OR REPLACE TEMP TABLE rated AS
  SELECT epoch_us(u.timestamp) AS t, trim(u.account) AS account, g.region, g.grp, u.model,
         u.input_tokens AS tin, u.output_tokens AS tout, u.requests AS n,
         coalesce(trim(u.request_id), '') AS request_id,
         CASE g.grp WHEN 'china' THEN {tier_case('china')} ELSE {tier_case('international')} END AS tier,
         (epoch_us(u.timestamp) + {UTC8_US}) // {HOUR_US} AS cycle,
         u.input_tokens * u.requests AS qin, u.output_tokens * u.requests AS qout
  FROM {source} u JOIN regions g ON g.name = lower(trim(regexp_replace(u.region, '\\s+', ' ', 'g')))
  WHERE u.model = 'qwen-plus' AND u.input_tokens BETWEEN 0 AND 1000000 AND u.output_tokens >= 0
    AND u.requests >= 1;
{credits}
COPY (
  WITH usage AS (
    SELECT account, cycle, region, grp, model, tier, sum(qin) AS usage_input, sum(qout) AS usage_output
    FROM rated GROUP BY ALL),
  lines AS (
    SELECT account, cycle, region, grp, model, tier, 'input' AS token_type, 'usage' AS kind, usage_input AS quantity
    FROM usage
    UNION ALL SELECT account, cycle, region, grp, model, tier, 'output', 'usage', usage_output FROM usage{quota_lines})
  SELECT l.account,
         strftime(make_timestamp(l.cycle * {HOUR_US}), '%Y-%m-%dT%H:00:00+08:00') AS cycle_start,
         strftime(make_timestamp((l.cycle + 1) * {HOUR_US}), '%Y-%m-%dT%H:00:00+08:00') AS cycle_end,
         l.region, l.model, p.label AS tier, l.token_type, l.kind, l.quantity, p.price AS unit_price,
         (CASE l.kind WHEN 'usage' THEN 1 ELSE -1 END * l.quantity * p.per_token)::DECIMAL(38, 9) AS amount
  FROM lines l JOIN prices p USING (grp, tier, token_type)
  ORDER BY l.account, l.cycle, l.region, l.model, l.tier, l.token_type, l.kind DESC
) TO {_sql_text(str(out))} (FORMAT csv, HEADER true);
"""


RUN_SQL = r'''
import sys, duckdb
settings = dict(threads=int(sys.argv[2]), memory_limit=sys.argv[3], temp_directory=sys.argv[4])
connection = duckdb.connect(config=settings)
connection.execute("SET enable_progress_bar = false")
connection.execute(open(sys.argv[1]).read())
'''

PARSE_FLOOR = r'''
import sys
import pyarrow.csv
table = pyarrow.csv.read_csv(sys.argv[1], read_options=pyarrow.csv.ReadOptions(use_threads=True))
print(table.num_rows)
'''

# Fallback when /usr/bin/time is missing: a wrapper whose only child is the measured process; its report goes to
# a file (argv[1]), as the wrapper's own stderr carries the child's.
MEASURE = r'''
import json, resource, subprocess, sys, time
start = time.perf_counter()
result = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
elapsed = time.perf_counter() - start
sys.stderr.write(result.stderr.decode(errors="replace")[-4000:])
with open(sys.argv[1], "w") as report:
    json.dump({"seconds": elapsed, "rss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
               "returncode": result.returncode}, report)
'''


# Spark local mode through `ratecard.spark` (its API is assumed: `bill(book, dataframe)` giving a `Bill`).
SPARK_RUN = r'''
import os, sys
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # the workers run this Python, with ratecard
import ratecard, ratecard.spark
from pyspark.sql import SparkSession
from ratecard.writers import write_bill
spark = (SparkSession.builder.master("local[2]").appName("ratecard-bulk").config("spark.driver.host", "127.0.0.1")
         .config("spark.ui.enabled", "false").config("spark.sql.ansi.enabled", "true")
         .config("spark.sql.session.timeZone", "UTC").config("spark.driver.memory", "2g")
         .config("spark.sql.shuffle.partitions", "4").config("spark.default.parallelism", "2")  # 2 local cores
         .config("spark.sql.execution.arrow.pyspark.enabled", "true").config("spark.ui.showConsoleProgress", "false")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
book = ratecard.load(sys.argv[1])
frame = spark.read.csv(sys.argv[2], header=True)  # every column as text, as in the usage schema
bill = ratecard.spark.bill(book, frame)
with open(sys.argv[3], "w", newline="") as out:
    write_bill(bill, book, "csv", out)
spark.stop()
'''


# -- measuring ------------------------------------------------------------------------------------------------


TIMEOUT: list[float | None] = [None]  # --timeout
GNU_TIME = Path("/usr/bin/time")


def _group_rss(group: int) -> int:
    """Resident KiB of every process in a process group, from /proc (0 where there is none)."""
    total = 0
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == group:  # pgrp
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") // 1024  # rss, in pages
        except (OSError, ValueError, IndexError):
            continue
    return total


def _run(command: list[str]) -> tuple[int, str, bool, int]:
    """Exit status, the tail of stderr, whether it ran out of time (then its whole process group is ended), and
    the peak of its process group's total RSS (KiB), sampled every 0.2 s: a JVM that /usr/bin/time misses too."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    stderr = b""
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            peak[0] = max(peak[0], _group_rss(process.pid))
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, stderr = process.communicate(timeout=TIMEOUT[0])
        timed_out = False
    except subprocess.TimeoutExpired:
        timed_out = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)  # the group of the process this function started, by its id
            except ProcessLookupError:
                break
            try:
                _, stderr = process.communicate(timeout=15)
                break
            except subprocess.TimeoutExpired:
                continue
    done.set()
    sampler.join()
    return process.returncode, stderr.decode(errors="replace")[-4000:], timed_out, peak[0]


def measure(command: list[str], workdir: Path) -> dict:
    """Wall seconds, peak RSS (KiB: of the largest process of its tree), exit status and stderr of one process."""
    gnu_time = GNU_TIME
    if gnu_time.exists():
        report = workdir / f"time-{os.getpid()}.txt"
        start = time.perf_counter()
        returncode, stderr, timed_out, tree = _run([str(gnu_time), "-v", "-o", str(report), *command])
        elapsed = time.perf_counter() - start
        rss = 0
        if report.exists():
            for line in report.read_text().splitlines():
                if "Maximum resident set size" in line:
                    rss = int(line.rsplit(":", 1)[1])
            report.unlink()
        return {"seconds": elapsed, "rss_kb": rss, "tree_kb": tree, "returncode": returncode, "stderr": stderr,
                "timed_out": timed_out}
    report = workdir / f"measure-{os.getpid()}.json"
    start = time.perf_counter()
    returncode, stderr, timed_out, tree = _run([sys.executable, "-c", MEASURE, str(report), *command])
    result = {"seconds": time.perf_counter() - start, "rss_kb": 0, "returncode": returncode}
    if report.exists():
        result.update(json.loads(report.read_text()))
        report.unlink()
    return {**result, "tree_kb": tree, "stderr": stderr, "timed_out": timed_out}


def ratecard_command() -> list[str]:
    script = Path(sys.executable).with_name("ratecard")
    return [str(script)] if script.exists() else [shutil.which("ratecard") or "ratecard"]


@functools.cache
def bill_help() -> str:
    return subprocess.run([*ratecard_command(), "bill", "--help"], capture_output=True, text=True).stdout


def engine_arguments(engine: str) -> list[str]:
    """`--engine python` once the option exists (its `auto` picks DuckDB for large files); DuckDB's memory limit."""
    if engine == "python":
        return ["--engine", "python"] if "--engine" in bill_help() else []
    limit = ["--memory-limit", DUCKDB_SETTINGS["memory_limit"]] if "--memory-limit" in bill_help() else []
    return ["--engine", engine, *limit]


def importable(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True).returncode == 0


def not_available(result: dict) -> str | None:
    """Why a ratecard run could not be made, when the command or option is missing (not when it is a bug)."""
    if result["returncode"] == 2 and ("unrecognized arguments" in result["stderr"]
                                      or "invalid choice" in result["stderr"]):
        return result["stderr"].strip().splitlines()[-1]
    return None


NAMES = ("parse", "sql", "sql-noquota", "sql-parquet", "python", "duckdb", "duckdb-parquet", "spark")


class Case:
    def __init__(self, name: str, what: str, command: list[str] | None, out: Path | None = None,
                 engine: bool = False, skip: str | None = None) -> None:
        self.name, self.what, self.command, self.out, self.engine, self.skip = name, what, command, out, engine, skip
        self.result: dict | None = None
        self.status = ""

    @property
    def seconds(self) -> float | None:
        return self.result["seconds"] if self.status == "ok" else None


def cases(csv_path: Path, parquet_path: Path, outdir: Path, spark: bool) -> list[Case]:
    temp = outdir.parent / "duckdb-tmp"
    run_sql = [sys.executable, "-c", RUN_SQL]
    settings = [str(DUCKDB_SETTINGS["threads"]), DUCKDB_SETTINGS["memory_limit"], str(temp)]
    made = [Case("parse", "pyarrow.csv.read_csv (parse floor)", [sys.executable, "-c", PARSE_FLOOR, str(csv_path)])]
    for name, what, source, quota in (("sql", "hand-written DuckDB query", csv_path, True),
                                      ("sql-noquota", "hand-written query, no quota", csv_path, False),
                                      ("sql-parquet", "hand-written query, Parquet", parquet_path, True)):
        out = outdir / f"{name}.csv"
        script = outdir.parent / f"handwritten-{name}.sql"
        script.write_text(handwritten_query(source, out, quota))
        made.append(Case(name, what, [*run_sql, str(script), *settings], out))
    ratecard = [*ratecard_command(), "bill", BOOK]
    for name, what, source, engine in (("python", "ratecard bill (Python engine)", csv_path, "python"),
                                       ("duckdb", "ratecard bill --engine duckdb", csv_path, "duckdb"),
                                       ("duckdb-parquet", "ratecard bill --engine duckdb, Parquet", parquet_path,
                                        "duckdb")):
        out = outdir / f"{name}.csv"
        made.append(Case(name, what, [*ratecard, str(source), *engine_arguments(engine), "--format", "csv",
                                      "--out", str(out), "--rejects", str(outdir / f"{name}.rejects.csv")],
                         out, engine=True))
    if spark:
        out = outdir / "spark.csv"
        skip = None if importable("ratecard.spark") else "not available: ratecard.spark does not import"
        made.append(Case("spark", "ratecard.spark, local[2]", [sys.executable, "-c", SPARK_RUN, BOOK, str(csv_path),
                                                               str(out)], out, skip=skip))
    return made


def run_case(case: Case, workdir: Path) -> None:
    if case.skip:
        case.status = case.skip
        return
    if case.out is not None and case.out.exists():
        case.out.unlink()
    case.result = result = measure(case.command, workdir)
    missing = not_available(result) if case.engine else None
    if result.get("timed_out"):
        case.status = f"timed out after {TIMEOUT[0]:,.0f} s (--timeout)"
    elif missing:
        case.status = f"not available: {missing}"
    elif result["returncode"] not in ((0, 1) if case.engine else (0,)):  # 1: some records rejected
        tail = result["stderr"].strip().splitlines()
        case.status = f"failed (exit {result['returncode']}): {tail[-1] if tail else ''}"
    else:
        case.status = "ok"


# -- comparing bills ------------------------------------------------------------------------------------------

LINE_KEY = "account, cycle_start, region, model, tier, token_type, kind"


def bill_lines(connection, path: Path, name: str) -> None:
    """A bill's lines (ratecard's CSV or the hand-written query's) as a DuckDB table of exact decimals."""
    connection.execute(f"""
        CREATE OR REPLACE TEMP TABLE {name} AS
        SELECT {LINE_KEY}, quantity::HUGEINT AS quantity, amount::DECIMAL(38, 9) AS amount
        FROM read_csv({_sql_text(str(path))}, header = true, all_varchar = true)""")


def totals(connection, name: str) -> tuple[Decimal, Decimal, Decimal, int]:
    """(list, credits, billed, lines), exact."""
    listed, credits, count = connection.execute(f"""
        SELECT coalesce(sum(amount) FILTER (kind = 'usage'), 0), coalesce(sum(amount) FILTER (kind <> 'usage'), 0),
               count(*) FROM {name}""").fetchone()
    return Decimal(listed), Decimal(credits), Decimal(listed) + Decimal(credits), count


def compare(connection, reference: str, other: str) -> tuple[bool, str]:
    """Whether two bills have the same lines, quantities and exact amounts; a summary of the differences."""
    differing = connection.execute(f"""
        SELECT {LINE_KEY}, a.quantity AS reference_quantity, b.quantity AS quantity,
               a.amount AS reference_amount, b.amount AS amount
        FROM {reference} a FULL JOIN {other} b USING ({LINE_KEY})
        WHERE a.quantity IS DISTINCT FROM b.quantity OR a.amount IS DISTINCT FROM b.amount
        ORDER BY ALL""").fetchall()
    ref, got = totals(connection, reference), totals(connection, other)
    same_totals = ref[:3] == got[:3]
    summary = (f"list {got[0]:f} credits {got[1]:f} billed {got[2]:f} ({got[3]:,} lines) vs Python "
               f"list {ref[0]:f} credits {ref[1]:f} billed {ref[2]:f} ({ref[3]:,} lines)")
    if not differing and same_totals:
        return True, f"agree exactly: {summary}"
    kinds = {}
    for row in differing:
        kinds[row[6]] = kinds.get(row[6], 0) + 1
    lines = [f"DIFFER: {summary}; {len(differing):,} lines differ (by kind: {kinds}), first ones:"]
    for row in differing[:8]:
        lines.append("    " + " | ".join("" if v is None else str(v) for v in row))
    return False, "\n".join(lines)


def cross_check(workdir: Path, records: int, seed: int, account_counts: list[int]) -> bool:
    """Bill small files with the Python engine, the hand-written query and (when there) the duckdb engine."""
    ok = True
    outdir = workdir / "check"
    outdir.mkdir(exist_ok=True)
    connection = connect(workdir)
    files = []
    for accounts in account_counts:
        csv_path, parquet_path = generate(workdir, records, seed, accounts, quiet=True)
        files.append((f"{records:,} records of {accounts:,} accounts", f"a{accounts}", csv_path, parquet_path))
    edges = write_edges(workdir)
    edges_parquet = edges.with_suffix(".parquet")
    connection.execute(f"COPY (SELECT * FROM read_csv({_sql_text(str(edges))}, header = true, columns = {CSV_TYPES})) "
                       f"TO {_sql_text(str(edges_parquet))} (FORMAT parquet)")
    files.append((f"{len(EDGE_RECORDS)} hand-made edge records", "edges", edges, edges_parquet))
    engine_there = True
    for label, tag, csv_path, parquet_path in files:
        python = outdir / f"python-{tag}.csv"
        ran = measure([*ratecard_command(), "bill", BOOK, str(csv_path), *engine_arguments("python"), "--format", "csv",
                       "--out", str(python),
                       "--rejects", str(outdir / f"python-{tag}.rejects.csv")], workdir)
        if ran["returncode"] not in (0, 1):
            print(f"cross-check, {label}: the Python engine failed (exit {ran['returncode']}): {ran['stderr'][-500:]}")
            return False
        bill_lines(connection, python, "reference")
        credited, used_up, count = connection.execute("""
            SELECT count(*) FILTER (credit > 0), count(*) FILTER (credit = 1000000), count(*)
            FROM (SELECT account, sum(quantity) FILTER (kind = 'quota') AS credit FROM reference GROUP BY account)
            """).fetchone()
        print(f"cross-check, {label}: {count:,} accounts, {credited:,} with quota credit, "
              f"{used_up:,} of them used it all")
        sql_out = outdir / f"sql-{tag}.csv"
        connection.execute(handwritten_query(csv_path, sql_out, quota=True))
        bill_lines(connection, sql_out, "handwritten")
        agree, summary = compare(connection, "reference", "handwritten")
        ok &= agree
        print(f"  hand-written query vs Python engine: {summary}")
        for name, source in (("duckdb", csv_path), ("duckdb-parquet", parquet_path)):
            if not engine_there:
                break
            out = outdir / f"{name}-{tag}.csv"
            ran = measure([*ratecard_command(), "bill", BOOK, str(source), *engine_arguments("duckdb"), "--format",
                           "csv", "--out", str(out), "--rejects", str(outdir / f"{name}-{tag}.rejects.csv")], workdir)
            missing = not_available(ran)
            if missing:
                print(f"  duckdb engine: not available ({missing})")
                engine_there = False
                break
            if ran["returncode"] not in (0, 1):
                print(f"  {name} engine: failed (exit {ran['returncode']}): {ran['stderr'].strip()[-300:]}")
                ok = False
                continue
            bill_lines(connection, out, "engine")
            agree, summary = compare(connection, "reference", "engine")
            ok &= agree
            print(f"  {name} engine vs Python engine: {summary}")
    connection.close()
    print("cross-check: " + ("every bill agrees exactly with the Python engine" if ok else "DIFFERENCES (above)"))
    return ok


# -- the report -----------------------------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or denominator is None or denominator == 0:
        return "n/a"
    return f"{numerator / denominator:.2f}x"


def report(made: list[Case], records: int) -> None:
    print(f"\n{records:,} records")
    print(f"{'what':<44} {'seconds':>9} {'records/s':>12} {'peak RSS MB':>12} {'sampled MB':>11}")
    for case in made:
        if case.status == "ok":
            result = case.result
            print(f"{case.what:<44} {result['seconds']:>9.2f} {records / result['seconds']:>12,.0f} "
                  f"{result['rss_kb'] / 1024:>12,.0f} {result['tree_kb'] / 1024:>11,.0f}")
        else:
            print(f"{case.what:<44} {case.status}")
    by = {case.name: case.seconds for case in made}
    duckdb, python, sql, parse = by.get("duckdb"), by.get("python"), by.get("sql"), by.get("parse")
    print()
    print(f"duckdb engine vs hand-written query: {ratio(sql, duckdb)} of its speed (its seconds / the engine's)")
    print(f"duckdb engine vs Python engine:      {ratio(python, duckdb)} faster")
    print(f"duckdb engine vs parse floor:        {ratio(duckdb, parse)} slower")
    print(f"duckdb engine, Parquet vs CSV:       {ratio(duckdb, by.get('duckdb-parquet'))} faster from Parquet")
    print(f"hand-written query vs Python engine: {ratio(python, sql)} faster;  vs parse floor: "
          f"{ratio(sql, parse)} slower;  quota costs {ratio(sql, by.get('sql-noquota'))};  "
          f"Parquet vs CSV: {ratio(sql, by.get('sql-parquet'))} faster")


def compare_outputs(made: list[Case], workdir: Path) -> bool:
    """Totals of each bill made in this run against the Python engine's (else the hand-written query's), exactly."""
    done = {case.name: case for case in made if case.status == "ok" and case.out is not None and case.out.exists()}
    base = next((name for name in ("python", "sql", "sql-parquet") if name in done), None)
    if base is None or len(done) < 2:
        return True
    connection = connect(workdir)
    bill_lines(connection, done[base].out, "reference")
    reference = totals(connection, "reference")
    print(f"\nbill totals (exact): {done[base].what} list {reference[0]:f} credits {reference[1]:f} "
          f"billed {reference[2]:f} ({reference[3]:,} lines)")
    ok = True
    for name, case in done.items():
        if name == base:
            continue
        bill_lines(connection, case.out, "other")
        got = totals(connection, "other")
        if name == "sql-noquota":
            same = "same list" if got[0] == reference[0] else "DIFFERENT list"
        else:
            same = "the same" if got[:3] == reference[:3] else "DIFFERENT"
        ok &= not same.startswith("DIFFERENT")
        print(f"  {case.what}: list {got[0]:f} credits {got[1]:f} billed {got[2]:f} ({got[3]:,} lines): {same}")
    connection.close()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--accounts", type=int, default=5_000)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir(), "ratecard-bulk"))
    parser.add_argument("--skip-python", action="store_true",
                        help="do not run the Python engine (about a minute per 1M records of this usage)")
    parser.add_argument("--spark", action="store_true", help="also Spark local mode, if ratecard.spark imports")
    parser.add_argument("--only", help="comma-separated, of: " + ", ".join(NAMES))
    parser.add_argument("--check-records", type=int, default=20_000,
                        help="records of the cross-check against the Python engine (0: skip it)")
    parser.add_argument("--memory-limit", default=DUCKDB_SETTINGS["memory_limit"],
                        help="DuckDB's memory limit, for the hand-written query and the duckdb engine (default 1.5GB)")
    parser.add_argument("--timeout", type=float, default=3600,
                        help="seconds each measured process may take before it is ended (default 3600; 0: no limit)")
    parser.add_argument("--keep-outputs", action="store_true", help="keep the bills made (default: delete them)")
    arguments = parser.parse_args()
    DUCKDB_SETTINGS["memory_limit"] = arguments.memory_limit
    TIMEOUT[0] = arguments.timeout or None
    workdir = arguments.workdir
    (workdir / "duckdb-tmp").mkdir(parents=True, exist_ok=True)
    outdir = workdir / "out"
    outdir.mkdir(exist_ok=True)

    wanted = {name.strip() for name in arguments.only.split(",")} if arguments.only else set(NAMES)
    if wanted - set(NAMES):
        parser.error(f"--only: unknown {', '.join(sorted(wanted - set(NAMES)))}; known: {', '.join(NAMES)}")

    agreed = True
    if arguments.check_records:
        agreed = cross_check(workdir, arguments.check_records, arguments.seed, [arguments.accounts, 100])
        print(flush=True)
    csv_path, parquet_path = generate(workdir, arguments.records, arguments.seed, arguments.accounts)
    made = cases(csv_path, parquet_path, outdir, arguments.spark or "spark" in (arguments.only or ""))
    made = [case for case in made if case.name in wanted]
    if arguments.skip_python:
        made = [case for case in made if case.name != "python"]
    for case in made:
        print(f"running {case.name} ...", end=" ", flush=True)
        run_case(case, workdir)
        print(f"{case.result['seconds']:.1f} s" if case.status == "ok" else case.status, flush=True)
    report(made, arguments.records)
    agreed &= compare_outputs(made, workdir)
    if not arguments.keep_outputs:
        for case in made:
            if case.out is not None:
                case.out.unlink(missing_ok=True)
                case.out.with_name(case.out.stem + ".rejects.csv").unlink(missing_ok=True)
    sys.exit(0 if agreed else 1)


if __name__ == "__main__":
    main()
