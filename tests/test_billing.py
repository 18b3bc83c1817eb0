"""Bills: the example usage against an independent hand calculation, every reject reason, and the
properties that make a bill trustworthy (order independence, splitting, counts that add up)."""

from __future__ import annotations

import csv
import json
import random
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ratecard
from ratecard.billing import QuotaLedger
from ratecard.cli.ratecard import main as ratecard_main
from ratecard.records import UsageFileError, read_usage

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "usage.csv"
UTC8 = timezone(timedelta(hours=8))
D = Decimal

# --- an independent hand calculation of the AI Function bill, from the seed document --------------

REGION_IDS = {
    "China (Beijing)": "cn-beijing", "Japan (Tokyo)": "ap-northeast-1", "US (Silicon Valley)": "us-west-1",
    "Singapore": "ap-southeast-1", "Mexico": "na-south-1", "Indonesia (Jakarta)": "ap-southeast-5",
}
CHINA = {"cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou", "cn-wulanchabu"}
SEED_TIERS = {  # (upper bound, input USD/1K, output USD/1K), copied from 000_de52ca9b654cf9f8.txt
    "china": [(128_000, "0.000138", "0.000344"), (256_000, "0.000414", "0.003442"),
              (1_000_000, "0.000827", "0.008257")],
    "international": [(256_000, "0.000480", "0.001440"), (1_000_000, "0.001440", "0.004320")],
}


def hand_calculation(path: Path):
    """Usage and free-quota credits per (cycle, account, region, tier, token type), by the document's rules."""
    records = []
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["request_id"].startswith("bad-"):
                continue
            region = REGION_IDS.get(row["region"], row["region"])
            tiers = SEED_TIERS["china" if region in CHINA else "international"]
            tokens_in = int(row["input_tokens"])
            tier = next(i for i, t in enumerate(tiers, start=1) if tokens_in <= t[0])
            when = datetime.fromisoformat(row["timestamp"])
            records.append((when, row["request_id"], row["account"], region, tier, tiers[tier - 1],
                            tokens_in * int(row["requests"]), int(row["output_tokens"]) * int(row["requests"])))
    usage, credit, prices = defaultdict(int), defaultdict(int), {}
    free_left = defaultdict(lambda: 1_000_000)
    for when, _, account, region, tier, (_, price_in, price_out), tokens_in, tokens_out in sorted(records):
        cycle = when.astimezone(UTC8).replace(minute=0, second=0, microsecond=0)
        for token_type, tokens, price in (("input", tokens_in, price_in), ("output", tokens_out, price_out)):
            key = (cycle, account, region, tier, token_type)
            prices[key] = D(price)
            usage[key] += tokens
            take = min(free_left[account], tokens)  # all usage is within a month of first use
            free_left[account] -= take
            credit[key] += take
    return usage, credit, prices


@pytest.fixture(scope="module")
def example_bill(starrocks):
    return starrocks.bill(read_usage([EXAMPLE]))


def test_example_bill_matches_the_hand_calculation(example_bill):
    usage, credit, prices = hand_calculation(EXAMPLE)
    seen_usage, seen_credit = {}, {}
    for line in example_bill.lines:
        key = (line.cycle_start, line.account, line.region, line.tier.index, line.token_type)
        assert line.unit_price == prices[key]
        if line.kind == "usage":
            seen_usage[key] = line.quantity
            assert line.amount == prices[key] * line.quantity / 1000
        else:
            assert line.kind == "quota"
            seen_credit[key] = line.quantity
            assert line.amount == -prices[key] * line.quantity / 1000
    assert seen_usage == dict(usage)
    assert seen_credit == {k: v for k, v in credit.items() if v}
    list_total = sum(prices[k] * v / 1000 for k, v in usage.items())
    credits = -sum(prices[k] * v / 1000 for k, v in credit.items())
    totals = example_bill.totals["USD"]
    assert (totals.list, totals.credits, totals.billed) == (list_total, credits, list_total + credits)
    # the figures the snapshot and the README show, checked against this calculation
    assert (totals.list, totals.credits, totals.billed) == (D("24.642158632"), D("-2.822078123"),
                                                            D("21.820080509"))
    assert totals.billed_rounded == D("21.820081")


def test_account_totals_are_each_accounts_exact_total_rounded_and_the_lines_add_up(example_bill):
    usage, credit, prices = hand_calculation(EXAMPLE)
    exact = defaultdict(lambda: [D(0), D(0)])  # account -> [list, credits], from the hand calculation
    for key, tokens in usage.items():
        exact[key[1]][0] += prices[key] * tokens / 1000
    for key, tokens in credit.items():
        exact[key[1]][1] -= prices[key] * tokens / 1000
    half_up = lambda amount: amount.quantize(D("0.000001"), rounding="ROUND_HALF_UP")  # noqa: E731
    assert set(example_bill.accounts) == set(exact)
    for account, (listed, credited) in exact.items():
        totals = example_bill.accounts[account]
        assert (totals.list, totals.credits, totals.billed) == (listed, credited, listed + credited)
        assert totals.billed_rounded == half_up(listed + credited)
        assert totals.list_rounded == half_up(listed)
        assert totals.credits_rounded == totals.billed_rounded - totals.list_rounded
        lines = [line for line in example_bill.lines if line.account == account]
        assert sum(line.amount_rounded for line in lines if line.kind == "usage") == totals.list_rounded
        assert sum(line.amount_rounded for line in lines if line.kind != "usage") == totals.credits_rounded
        assert all(abs(line.amount_rounded - line.amount) < D("0.000001") for line in lines)
    overall = example_bill.totals["USD"]
    assert overall.billed_rounded == sum(t.billed_rounded for t in example_bill.accounts.values())
    assert overall.billed_rounded == sum(line.amount_rounded for line in example_bill.lines) == D("21.820081")


@given(st.lists(st.decimals(min_value=-5, max_value=5, places=9, allow_nan=False), min_size=1, max_size=30),
       st.integers(-3, 3))
def test_largest_remainder_reaches_any_nearby_target(amounts, offset):
    from ratecard.billing import largest_remainder
    from ratecard.money import round_amount
    quantum = D("0.000001")
    target = round_amount(sum(amounts, D(0)), quantum, "ROUND_HALF_UP") + offset * quantum
    rounded = [round_amount(a, quantum, "ROUND_HALF_UP") for a in amounts]
    for position, step in largest_remainder(amounts, target, quantum, "ROUND_HALF_UP"):
        rounded[position] += step * quantum
    if any(amounts):
        assert sum(rounded, D(0)) == target
    assert all(r == 0 for a, r in zip(amounts, rounded) if a == 0)


def test_example_bill_counts_and_quota(example_bill):
    assert (example_bill.read, example_bill.billed, example_bill.rejected) == (307, 300, 7)
    assert {line.kind for line in example_bill.lines} == {"usage", "quota"}
    ledger = example_bill.ledger.accounts
    assert all(ledger[a].consumed == 1_000_000 for a in ("acme-analytics", "globex-search", "umbrella-docs"))
    assert ledger["hooli-mini"].consumed < 1_000_000  # a small account: everything it used was free
    small = [line for line in example_bill.lines if line.account == "hooli-mini"]
    assert small and sum(line.amount for line in small) == 0
    tiers = {(line.region in CHINA, line.tier.index) for line in example_bill.lines}
    assert {(True, 1), (True, 3), (False, 1), (False, 2)} <= tiers


def test_quota_crossing_record_is_split_input_before_output(starrocks):
    records = [
        {"timestamp": "2026-05-01T10:00:00+08:00", "account": "a", "region": "us-east-1", "model": "qwen-plus",
         "input_tokens": "100000", "output_tokens": "1000", "requests": "9"},  # 909,000 tokens
        {"timestamp": "2026-05-01T10:30:00+08:00", "account": "a", "region": "us-east-1", "model": "qwen-plus",
         "input_tokens": "300000", "output_tokens": "50000", "requests": "1"},  # tier 2; crosses the quota
    ]
    bill = starrocks.bill(records)
    lines = {(line.tier.index, line.token_type, line.kind): line for line in bill.lines}
    assert lines[(2, "input", "quota")].quantity == 91_000  # 1,000,000 - 909,000, input first
    assert (2, "output", "quota") not in lines
    assert lines[(2, "input", "quota")].amount == D("-0.13104")  # 91,000 x 0.001440 / 1K, at the record's tier
    assert bill.totals["USD"].billed == D("0.001440") * 209 + D("0.004320") * 50
    assert bill.ledger.accounts["a"].consumed == 1_000_000


def test_quota_window_is_one_month_from_first_use(starrocks):
    def record(when, tokens):
        return {"timestamp": when, "account": "a", "region": "us-east-1", "model": "qwen-plus",
                "input_tokens": str(tokens), "output_tokens": "0"}
    bill = starrocks.bill([record("2026-01-31T12:00:00+08:00", 1000), record("2026-02-28T11:59:59+08:00", 1000),
                           record("2026-02-28T12:00:00+08:00", 1000)])
    credited = sum(line.quantity for line in bill.lines if line.kind == "quota")
    assert credited == 2000  # the window ends 2026-02-28 12:00 UTC+8 (Jan 31 + 1 month, clamped)


def test_free_trial_credits_usage_before_launch(ai_center):
    records = [
        {"timestamp": "2026-04-07T23:59:59+08:00", "account": "a", "region": "cn-hangzhou", "model": "qwen-plus",
         "input_tokens": "260", "output_tokens": "50", "requests": "10000"},
        {"timestamp": "2026-04-08T00:00:00+08:00", "account": "a", "region": "cn-hangzhou", "model": "qwen-plus",
         "input_tokens": "260", "output_tokens": "50", "requests": "10000"},
    ]
    bill = ai_center.bill(records, currency="CNY")
    trial = [line for line in bill.lines if line.kind == "trial"]
    assert sum(line.amount for line in trial) == D("-3.696")
    assert all("2026-04-08" in line.description for line in trial)
    assert bill.totals["CNY"].billed == D("3.696")  # the second record, after launch


def test_not_billed_output_is_a_zero_line(ai_center):
    bill = ai_center.bill([{"timestamp": "2026-05-01T00:00:00Z", "account": "a", "region": "Singapore",
                            "model": "text-embedding-v4", "input_tokens": "1000", "output_tokens": "99"}])
    output = next(line for line in bill.lines if line.token_type == "output")
    assert (output.quantity, output.amount, output.billed) == (99, 0, False)
    assert bill.totals["USD"].billed == D("0.000084")


GOOD = {"timestamp": "2026-05-01T10:00:00+08:00", "account": "a", "region": "us-east-1", "model": "qwen-plus",
        "input_tokens": "10", "output_tokens": "10"}


@pytest.mark.parametrize("changes, code", [
    ({"timestamp": "2026-05-01T10:00:00"}, "E203"),
    ({"timestamp": "yesterday"}, "E202"),
    ({"account": ""}, "E201"),
    ({"region": "mars-1"}, "E101"),
    ({"model": "gpt-9"}, "E102"),
    ({"region": "cn-qingdao", "model": "qwen-plus"}, None),  # offered by this book: not a reject
    ({"input_tokens": "1000001"}, "E104"),
    ({"input_tokens": "-1"}, "E204"),
    ({"input_tokens": "1.5"}, "E204"),
    ({"input_tokens": "ten"}, "E204"),
    ({"requests": "0"}, "E204"),
    ({"requests": "two"}, "E204"),
    ({"cached_tokens": "5"}, "E107"),
    ({"input_tokens": "²"}, "E204"),
    ({"input_tokens": "٣"}, "E204"),
    ({"input_tokens": "--5"}, "E204"),
    ({"input_tokens": "1_000"}, "E204"),
    ({"cached_tokens": "0"}, None),  # an empty column for a type the model does not have
])
def test_every_reject_reason(starrocks, changes, code):
    bill = starrocks.bill([{**GOOD, **changes}])
    assert bill.read == 1 and bill.billed + bill.rejected == 1
    assert [r.code for r in bill.rejects] == ([code] if code else [])
    if code:
        assert bill.rejects[0].reason and bill.lines == ()


def test_no_price_in_currency_is_a_reject(ai_center):
    bill = ai_center.bill([{**GOOD, "timestamp": "2026-05-01T10:00:00+08:00"}], currency="CNY")
    assert [r.code for r in bill.rejects] == ["E105"]


def test_unknown_region_not_offered_is_a_reject(ai_center):
    bill = ai_center.bill([{**GOOD, "region": "cn-qingdao"}])
    assert [r.code for r in bill.rejects] == ["E103"]


def test_naive_timestamps_with_assume_tz(starrocks):
    bill = starrocks.bill([{**GOOD, "timestamp": "2026-05-01T10:30:00"}], assume_tz=UTC8)
    assert bill.rejected == 0 and bill.lines[0].cycle_start == datetime(2026, 5, 1, 10, tzinfo=UTC8)


def test_malformed_files_are_rejects_not_crashes(tmp_path, starrocks):
    usage = tmp_path / "u.jsonl"
    usage.write_text('{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", '
                     '"model": "qwen-plus", "input_tokens": 5, "output_tokens": 1.5}\n'
                     'not json\n[1, 2]\n\n'
                     '{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", '
                     '"model": "qwen-plus", "input_tokens": 5, "output_tokens": 5}\n')
    bill = starrocks.bill(read_usage([usage]))
    assert (bill.read, bill.billed, bill.rejected) == (4, 1, 3)
    assert [(r.line, r.code) for r in bill.rejects] == [(1, "E204"), (2, "E205"), (3, "E205")]
    short = tmp_path / "u.csv"
    short.write_text("timestamp,account,region,model,input_tokens,output_tokens\n2026-05-01T10:00:00Z,a,us-east-1\n")
    bill = starrocks.bill(read_usage([short]))
    assert [(r.line, r.code) for r in bill.rejects] == [(2, "E205")]
    repeated = tmp_path / "repeated.csv"
    repeated.write_text("timestamp,account,region,model,input_tokens,input_tokens,output_tokens\n"
                        "2026-05-01T10:00:00Z,a,us-east-1,qwen-plus,5,7,0\n")
    with pytest.raises(UsageFileError, match="repeats the column input_tokens"):
        starrocks.bill(read_usage([repeated]))
    missing = tmp_path / "missing.csv"
    missing.write_text("timestamp,region,model,input_tokens,output_tokens\n2026-05-01T10:00:00Z,us-east-1,qwen-plus,5,0\n")
    with pytest.raises(UsageFileError, match="no column account"):
        starrocks.bill(read_usage([missing]))


# --- properties ------------------------------------------------------------------------------------

SMALL_QUOTA = ratecard.loads("""
    include "alibaba-regions.rules"
    book small "Small quota" {
      currency USD
      price per 1K tokens
      cycle hourly in UTC+8
      round 6 half-up
      group g = us-east-1, cn-beijing
      model m {
        tier by input tokens per request
        g { 0 < T <= 1K  input 0.5  output 1.5
            1K < T <= 5K input 0.7  output 2.5 }
      }
      quota q { free 3K tokens per account  window 1 month from first use  consume input, output }
    }""")

records_strategy = st.lists(st.fixed_dictionaries({
    "timestamp": st.integers(0, 6 * 3600).map(
        lambda s: (datetime(2026, 5, 1, tzinfo=timezone.utc) + timedelta(seconds=s)).isoformat()),
    "account": st.sampled_from(["a", "b", "c"]),
    "region": st.sampled_from(["us-east-1", "cn-beijing", "US (Virginia)", "nowhere"]),
    "model": st.just("m"),
    "input_tokens": st.integers(0, 6000).map(str),
    "output_tokens": st.integers(0, 900).map(str),
    "requests": st.integers(1, 3).map(str),
}), max_size=25)


def summary(bill):
    return ([(line.cycle_start, line.account, line.region, line.tier.index, line.token_type, line.kind,
              line.quantity, line.amount) for line in bill.lines], bill.totals, bill.read, bill.billed)


@settings(max_examples=150, deadline=None)
@given(records_strategy, st.randoms(use_true_random=False))
def test_bill_is_independent_of_record_order(records, rng):
    shuffled = list(records)
    rng.shuffle(shuffled)
    assert summary(SMALL_QUOTA.bill(records)) == summary(SMALL_QUOTA.bill(shuffled))


@settings(max_examples=150, deadline=None)
@given(records_strategy)
def test_counts_add_up_and_billed_is_list_plus_credits(records):
    bill = SMALL_QUOTA.bill(records)
    assert bill.read == len(records) == bill.billed + bill.rejected == bill.billed + len(bill.rejects)
    totals = bill.totals["USD"]
    assert totals.billed == totals.list + totals.credits
    assert totals.credits <= 0 <= totals.billed
    assert sum(line.quantity for line in bill.lines if line.kind == "quota") <= 3000 * 3


@settings(max_examples=60, deadline=None)
@given(records_strategy, st.integers(0, 25))
def test_splitting_the_usage_file_changes_nothing(tmp_path_factory, records, cut):
    folder = tmp_path_factory.mktemp("split")
    columns = ["timestamp", "account", "region", "model", "input_tokens", "output_tokens", "requests"]

    def write(name, rows):
        with open(folder / name, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        return folder / name
    whole = SMALL_QUOTA.bill(read_usage([write("all.csv", records)]))
    parts = SMALL_QUOTA.bill(read_usage([write("a.csv", records[:cut]), write("b.csv", records[cut:])]))
    assert summary(whole) == summary(parts)


@settings(max_examples=100, deadline=None)
@given(records_strategy)
def test_billing_hour_by_hour_with_a_ledger_equals_one_bill(records):
    good = [r for r in records if r["region"] != "nowhere"]
    ledger = QuotaLedger()
    lines = []
    for hour in range(7):
        start = datetime(2026, 5, 1, tzinfo=timezone.utc) + timedelta(hours=hour)
        batch = [r for r in good if start <= datetime.fromisoformat(r["timestamp"]) < start + timedelta(hours=1)]
        part = SMALL_QUOTA.bill(batch, ledger=ledger)
        ledger = part.ledger
        lines += summary(part)[0]
    assert sorted(lines, key=repr) == sorted(summary(SMALL_QUOTA.bill(good))[0], key=repr)


# --- the command ------------------------------------------------------------------------------------

def test_bill_cli_json_and_rejects(tmp_path, capsys, snapshot):
    out, rejects = tmp_path / "bill.json", tmp_path / "rejects.csv"
    code = ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), "--format", "json", "--out", str(out),
                          "--rejects", str(rejects)])
    assert code == 1  # some records were rejected; the bill is still written
    assert "307 records read = 300 billed + 7 rejected" in capsys.readouterr().err
    document = json.loads(out.read_text())
    assert document["records"] == {"read": 307, "billed": 300, "rejected": 7}
    assert document["totals"]["USD"]["billed"] == "21.820080509"
    assert all(isinstance(line["amount"], str) for line in document["lines"])
    with open(rejects, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["record"].split(",")[-1] for row in rows] == [
        "bad-naive", "bad-region", "bad-model", "bad-negative", "bad-tier", "bad-fraction", "bad-account"]
    assert all(row["reason"] and row["line"].isdigit() for row in rows)
    document["lines"] = document["lines"][:12]  # the head of the bill, checked by hand against the calculation
    assert document == snapshot


def test_bill_cli_table(tmp_path, capsys, snapshot):
    code = ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), "--rejects", str(tmp_path / "r.csv")])
    assert code == 1
    text = capsys.readouterr().out
    # each account is rounded on its own; the bill's rounded totals are the sums of the accounts'
    assert text.splitlines()[-1].startswith("Totals (USD, 5 accounts):  list 24.642158   credits -2.822077   "
                                            "billed 21.820081")
    assert "\n".join(text.splitlines()[:14] + text.splitlines()[-3:]) == snapshot


@pytest.mark.parametrize("form", ["csv", "toml", "focus"])
def test_bill_cli_other_formats(tmp_path, capsys, form):
    out = tmp_path / f"bill.{form}"
    code = ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), "--format", form, "--out", str(out),
                          "--rejects", str(tmp_path / "r.csv")])
    assert code == 1
    text = out.read_text()
    if form == "toml":
        import tomllib
        assert tomllib.loads(text)["totals"]["USD"]["billed"] == "21.820080509"
        return
    rows = list(csv.DictReader(text.splitlines()))
    cost = "BilledCost" if form == "focus" else "amount"
    assert sum(D(row[cost]) for row in rows) == D("21.820080509")
    if form == "focus":
        assert {row["ChargeCategory"] for row in rows} == {"Usage", "Credit"}
        assert rows[0]["ChargePeriodStart"].endswith("Z") and rows[0]["PricingUnit"] == "1000 Tokens"
        assert sum(D(row["ListCost"]) for row in rows if row["ChargeCategory"] == "Usage") == D("24.642158632")
        credits = [row for row in rows if row["ChargeCategory"] == "Credit"]
        assert all(row["ListCost"] == row["EffectiveCost"] == row["ContractedCost"] == row["BilledCost"]
                   and row["BilledCost"].startswith("-") and row["ConsumedQuantity"] == "" for row in credits)


def test_bill_cli_strict_stops_at_first_bad_record(tmp_path, capsys):
    out = tmp_path / "bill.json"
    code = ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), "--strict", "--out", str(out),
                          "--rejects", str(tmp_path / "r.csv")])
    assert code == 1 and not out.exists()
    assert "usage.csv:22: timestamp" in capsys.readouterr().err


def test_bill_cli_missing_usage_file(capsys):
    assert ratecard_main(["bill", "emr-starrocks-ai-function", "nope.csv"]) == 2
    assert "no such usage file" in capsys.readouterr().err


def test_random_shuffle_of_the_example_gives_the_same_bill(starrocks, tmp_path):
    rows = EXAMPLE.read_text().splitlines()
    body = rows[1:]
    random.Random(7).shuffle(body)
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("\n".join([rows[0], *body]) + "\n")
    assert summary(starrocks.bill(read_usage([shuffled]))) == summary(starrocks.bill(read_usage([EXAMPLE])))


# --- the CSV fast path agrees with the general path, row for row -------------------------------------

messy_text = st.sampled_from(["", " ", "0", "12", " 12", "12 ", "-3", "1.5", "1_000", "٣", "²", "--5", "1e3", "x",
                              "1000001"])
MESSY_COLUMNS = ["timestamp", "account", "region", "model", "input_tokens", "output_tokens", "cached_tokens",
                 "requests", "request_id"]
messy_rows = st.lists(st.fixed_dictionaries({
    "timestamp": st.sampled_from([
        "2026-05-01T10:00:00+08:00", "2026-05-01T10:00:59+08:00", "2026-05-01T10:00:60+08:00",
        "2026-05-01T10:59:59Z", "2026-05-01T02:00:00Z", "2026-05-01T10:00:00", "2026-05-01 10:00:00+08:00",
        "2026-05-01T10:00:00.5+08:00", "20260501T100000+0800", "2026-05-01T10:00x00+08:00", "nope", "",
        "2026-05-01T10:30:00+05:30", "2026-04-30T21:00:00-05:00"]),
    "account": st.sampled_from(["a", " a", "b", ""]),
    "region": st.sampled_from(["us-east-1", "US (Virginia)", " us-east-1", "cn-beijing", "mars"]),
    "model": st.sampled_from(["m", "m ", "x"]),
    "input_tokens": messy_text,
    "output_tokens": messy_text,
    "cached_tokens": st.sampled_from(["", "0", "5"]),
    "requests": st.sampled_from(["", "1", "2", "0", "-1", "x"]),
    "request_id": st.sampled_from(["", "r1", "r2"]),
}), max_size=20)


@settings(max_examples=200, deadline=None)
@given(messy_rows, st.booleans())
def test_csv_fast_path_agrees_with_the_general_path(tmp_path_factory, rows, with_cached):
    path = tmp_path_factory.mktemp("messy") / "usage.csv"
    columns = [c for c in MESSY_COLUMNS if with_cached or c != "cached_tokens"]
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    fast = SMALL_QUOTA.bill(read_usage([path]))  # the file as a whole: clean rows take the fast path
    general = SMALL_QUOTA.bill(list(read_usage([path])))  # one RawRecord at a time: the general path
    assert summary(fast) == summary(general)
    assert [(r.line, r.code) for r in fast.rejects] == [(r.line, r.code) for r in general.rejects]


def test_csv_rows_dicts_and_usage_records_take_one_path(tmp_path, monkeypatch):
    from ratecard.rating import Rater
    from ratecard.records import UsageRecord
    path = tmp_path / "usage.csv"
    path.write_text("timestamp,account,region,model,input_tokens,output_tokens\n"
                    "2026-05-01T10:00:00+08:00,a,us-east-1,m,10,20\n"
                    "2026-05-01T10:00:05+08:00,a,us-east-1,m,10,20\n")
    calls = []
    original = Rater.rate_fields
    monkeypatch.setattr(Rater, "rate_fields", lambda self, *args: calls.append(args[0]) or original(self, *args))
    record = UsageRecord(datetime(2026, 5, 1, 2, tzinfo=timezone.utc), "b", "us-east-1", "m",
                         (("input", 10), ("output", 20)))
    assert SMALL_QUOTA.bill(read_usage([path])).billed == 2
    assert SMALL_QUOTA.bill([{**GOOD, "model": "m"}, record]).billed == 2
    assert len(calls) == 4


def test_usage_records_from_code_are_held_to_the_same_rules(starrocks):
    from ratecard.records import UsageRecord
    when = datetime(2026, 5, 1, 10, tzinfo=UTC8)
    good = UsageRecord(when, "a", "US (Virginia)", "qwen-plus", (("input", 750), ("output", 20)))
    negative = UsageRecord(when, "a", "us-east-1", "qwen-plus", (("input", -5),))
    naive = UsageRecord(datetime(2026, 5, 1, 10), "a", "us-east-1", "qwen-plus", (("input", 5),))
    bill = starrocks.bill([good, negative, naive])
    assert (bill.billed, bill.rejected) == (1, 2)
    assert [(r.line, r.code) for r in bill.rejects] == [(2, "E204"), (3, "E203")]  # line: the record's number
    assert bill.totals["USD"].list == D("0.0003888")
    rated = starrocks.rate(good)
    assert (rated.tier.index, rated.tokens) == (1, (("input", 750), ("output", 20)))
    assert rated.timestamp == when


def test_a_record_outside_the_books_dates_is_a_reject():
    dated = ratecard.loads("""
        include "alibaba-regions.rules"
        book dated "Dated" {
          currency USD
          price per 1M tokens
          cycle daily in UTC
          round 6 half-up
          effective from 2026-01-01
          model m {
            us-east-1 effective until 2026-07-01 { input 1 output 2 }
            us-east-1 effective from 2026-07-01 { input 3 output 4 }
          }
        }""")
    records = [{"timestamp": when, "account": "a", "region": "us-east-1", "model": "m", "input_tokens": "1000000",
                "output_tokens": "0"}
               for when in ("2025-12-31T23:59:59Z", "2026-06-30T23:59:59Z", "2026-07-01T00:00:00Z")]
    bill = dated.bill(records)
    assert [r.code for r in bill.rejects] == ["E108"]
    assert [(line.cycle_start.day, line.amount) for line in bill.lines if line.token_type == "input"] == [(30, 1),
                                                                                                         (1, 3)]
    assert bill.lines[0].cycle_end - bill.lines[0].cycle_start == timedelta(days=1)


@pytest.mark.parametrize("args, words", [
    (["--out", "/nonexistent/dir/bill.json"], "cannot write /nonexistent/dir/bill.json: no such directory"),
    (["--rejects", "/nonexistent/r.csv"], "cannot write /nonexistent/r.csv: no such directory"),
    (["--currency", "EUR"], "has no prices in 'EUR'"),
])
def test_bill_cli_usage_errors_exit_2_before_reading(capsys, args, words):
    assert ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), *args]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_bill_cli_not_utf8_costs_only_that_line(tmp_path, capsys):
    usage = tmp_path / "u.csv"
    usage.write_bytes(b"timestamp,account,region,model,input_tokens,output_tokens\n"
                      b"2026-05-01T10:00:00Z,\xff\xfe\xfa,us-east-1,qwen-plus,1,1\n"
                      b"2026-05-01T10:00:00Z,a,us-east-1,qwen-plus,1,1\n")
    rejects = tmp_path / "r.csv"
    assert ratecard_main(["bill", "emr-starrocks-ai-function", str(usage), "--rejects", str(rejects)]) == 1
    assert "2 records read = 1 billed + 1 rejected" in capsys.readouterr().err
    [row] = list(csv.DictReader(rejects.open(newline="")))
    assert (row["line"], row["code"]) == ("2", "E206") and "not UTF-8" in row["reason"]
    assert not list(tmp_path.glob(".*.tmp"))


def test_odd_digits_in_a_csv_are_rejects_on_the_fast_path_too(starrocks, tmp_path):
    usage = tmp_path / "u.csv"
    usage.write_text("timestamp,account,region,model,input_tokens,output_tokens\n"
                     "2026-05-01T10:00:00+08:00,a,us-east-1,qwen-plus,10,20\n"
                     "2026-05-01T10:00:01+08:00,a,us-east-1,qwen-plus,²,20\n"
                     "2026-05-01T10:00:02+08:00,a,us-east-1,qwen-plus,٣,20\n"
                     "2026-05-01T10:00:03+08:00,a,us-east-1,qwen-plus,10,--5\n", encoding="utf-8")
    bill = starrocks.bill(read_usage([usage]))
    assert (bill.billed, bill.rejected) == (1, 3)
    assert {r.code for r in bill.rejects} == {"E204"}


def test_bill_cli_out_is_a_directory(tmp_path, capsys):
    (tmp_path / "bill.json").mkdir()
    assert ratecard_main(["bill", "emr-starrocks-ai-function", str(EXAMPLE), "--out", str(tmp_path / "bill.json")]) == 2
    assert "it is a directory" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.rejects.csv"))


def test_the_json_line_writer_is_json_dumps_of_the_line_fields(example_bill, ai_center, starrocks):
    from ratecard.writers import LineJson, bill_document, line_fields, to_json
    trial = ai_center.bill([{"timestamp": "2026-04-01T00:00:00Z", "account": "a", "region": "Singapore",
                             "model": "text-embedding-v4", "input_tokens": "1000", "output_tokens": "99"}])
    weird = [line._replace(account='a"\\ \u00e9\u2028\x01') for line in example_bill.lines[:3]]
    line_json = LineJson()  # one writer over all of them: its cached pieces must never leak from line to line
    for line in [*example_bill.lines, *weird, *trial.lines, *example_bill.lines[::-1]]:
        assert line_json(line) == json.dumps(line_fields(line))
    assert json.loads(to_json(example_bill, starrocks)) == json.loads(json.dumps(bill_document(example_bill,
                                                                                              starrocks)))
