"""Explained charges: the source location on every quote and bill line, and `ratecard explain`.

Every location below was checked by hand with `grep -n` on the shipped books:
- rules/emr-starrocks-ai-function.rules
  28: `      0 < T <= 256K      input 0.000480   output 0.001440` (input at column 26, output at 43)
  23: `      0 < T <= 128K      input 0.000138   output 0.000344` (the same columns)
  34: `  quota first-month-free "Free quota: ..." {` (column 3)
  16: `  group international = ap-southeast-1, ...`; 27: `    international {`
- rules/emr-serverless-spark-ai-center.rules
  26: `      0 < T <= 128K      input 0.000138, CNY 0.00096   output 0.000344, CNY 0.0024`
      (input at 26, its CNY price at 42, output at 56, its CNY price at 73)
  20: `  trial until 2026-04-08T00:00+08:00 "..."` (column 3)
- rules/alibaba-regions.rules 15: `region us-east-1 ...`

The worked example of the StarRocks seed (000_*.txt): US (Virginia), 750 input and 20 output tokens,
`0.000480 x 750/1000 + 0.001440 x 20/1000 = 0.000360 + 0.0000288`, USD 0.000389 at list price.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from ratecard.cli.ratecard import main as ratecard_main
from ratecard.records import read_usage
from ratecard.resources import rules_dir
from ratecard.trace import Trace, explain_line, explain_record, trace_dict, trace_text
from ratecard.writers import to_focus

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "usage.csv"
STARROCKS = "rules/emr-starrocks-ai-function.rules"
AI_CENTER = "rules/emr-serverless-spark-ai-center.rules"
VIRGINIA = {"timestamp": "2026-05-03T12:00:00+08:00", "account": "acme", "region": "US (Virginia)",
            "model": "qwen-plus", "input_tokens": 750, "output_tokens": 20}


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = ratecard_main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_locations_name_the_cells_they_say():
    """The hand-checked locations above, held to the files themselves."""
    def at(path: str, line: int, column: int) -> str:
        return (ROOT / path).read_text().split("\n")[line - 1][column - 1:]
    assert at(STARROCKS, 28, 26).startswith("input 0.000480")
    assert at(STARROCKS, 28, 43).startswith("output 0.001440")
    assert at(STARROCKS, 34, 3).startswith("quota first-month-free")
    assert at(AI_CENTER, 26, 42).startswith("CNY 0.00096")
    assert at(AI_CENTER, 26, 73).startswith("CNY 0.0024")
    assert at(AI_CENTER, 20, 3).startswith("trial until")


# --- sources on quote and bill lines ---------------------------------------------------------------

def test_quote_json_lines_name_their_rates(capsys):
    code, out, _ = cli(capsys, "quote", "emr-starrocks-ai-function", "--region", "US (Virginia)", "--model",
                       "qwen-plus", "--input", "750", "--output", "20", "--format", "json")
    assert code == 0
    assert [(line["token_type"], line["rate_source"]) for line in json.loads(out)["lines"]] == [
        ("input", f"{STARROCKS}:28:26"), ("output", f"{STARROCKS}:28:43")]


def test_a_quote_in_a_second_currency_names_that_price_and_its_trial_credit_the_trial(capsys):
    code, out, _ = cli(capsys, "quote", "emr-serverless-spark-ai-center", "--region", "cn-hangzhou", "--model",
                       "qwen-plus", "--input", "260", "--output", "50", "--currency", "CNY", "--at",
                       "2026-04-07T12:00+08:00", "--format", "json")
    data = json.loads(out)
    assert code == 0
    assert [line["rate_source"] for line in data["lines"]] == [f"{AI_CENTER}:26:42", f"{AI_CENTER}:26:73"]
    assert [(c["kind"], c["amount"], c["rate_source"]) for c in data["credits"]] == [
        ("trial", "-0.0003696", f"{AI_CENTER}:20:3")]


@pytest.fixture(scope="module")
def virginia_bill(starrocks):
    return starrocks.bill([VIRGINIA])


def test_bill_json_lines_name_the_rate_and_the_quota(capsys, tmp_path):
    usage = tmp_path / "usage.jsonl"
    usage.write_text(json.dumps(VIRGINIA) + "\n")
    code, out, _ = cli(capsys, "bill", "emr-starrocks-ai-function", str(usage), "--format", "json")
    assert code == 0
    assert [(line["token_type"], line["kind"], line["amount"], line["rate_source"])
            for line in json.loads(out)["lines"]] == [
        ("input", "usage", "0.00036", f"{STARROCKS}:28:26"), ("input", "quota", "-0.00036", f"{STARROCKS}:34:3"),
        ("output", "usage", "0.0000288", f"{STARROCKS}:28:43"),
        ("output", "quota", "-0.0000288", f"{STARROCKS}:34:3")]


def test_bill_csv_ends_with_the_rate_source_column(virginia_bill, starrocks):
    from ratecard.writers import FORMATS
    rows = list(csv.reader(io.StringIO(FORMATS["csv"](virginia_bill, starrocks))))
    assert rows[0][-1] == "rate_source" and rows[0][:2] == ["cycle_start", "cycle_end"]
    assert [row[-1] for row in rows[1:]] == [f"{STARROCKS}:28:26", f"{STARROCKS}:34:3", f"{STARROCKS}:28:43",
                                              f"{STARROCKS}:34:3"]


def test_focus_rows_carry_the_source_as_a_provider_tag(virginia_bill, starrocks):
    rows = list(csv.DictReader(io.StringIO(to_focus(virginia_bill, starrocks))))
    assert [(r["x_ChargeKind"], json.loads(r["Tags"])) for r in rows] == [
        ("usage", {"ratecard.source": f"{STARROCKS}:28:26"}), ("quota", {"ratecard.source": f"{STARROCKS}:34:3"}),
        ("usage", {"ratecard.source": f"{STARROCKS}:28:43"}), ("quota", {"ratecard.source": f"{STARROCKS}:34:3"})]
    assert "x_RateSource" not in rows[0]  # FOCUS wants no custom column that repeats a FOCUS one (Tags)


def test_ai_center_trial_lines_point_at_the_trial(ai_center):
    # A book loaded by name is the installed package's copy (site-packages in CI, the checkout when editable).
    book = f"{rules_dir().resolve()}/{Path(AI_CENTER).name}"
    bill = ai_center.bill([{**VIRGINIA, "timestamp": "2026-04-01T00:00:00Z", "region": "cn-hangzhou"}], currency="CNY")
    assert [(line.token_type, line.kind, str(line.source)) for line in bill.lines] == [
        ("input", "usage", f"{book}:26:42"), ("input", "trial", f"{book}:20:3"),
        ("output", "usage", f"{book}:26:73"), ("output", "trial", f"{book}:20:3")]


def test_the_printed_query_names_the_same_sources_as_the_python_engine():
    duckdb = pytest.importorskip("duckdb")
    from ratecard import load
    from ratecard.sql import compile_query
    from ratecard.writers import rate_source
    book = load("emr-serverless-spark-ai-center")
    usage = [{**VIRGINIA, "timestamp": stamp, "region": region, "input_tokens": "900", "output_tokens": "30"}
             for stamp in ("2026-04-07T23:59:59+08:00", "2026-04-08T00:00:00+08:00")
             for region in ("cn-hangzhou", "us-east-1")]
    con = duckdb.connect()
    con.execute("CREATE TABLE u (timestamp VARCHAR, account VARCHAR, region VARCHAR, model VARCHAR, "
                "input_tokens VARCHAR, output_tokens VARCHAR, requests VARCHAR, request_id VARCHAR)")
    con.executemany("INSERT INTO u VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
                    [[r[k] for k in ("timestamp", "account", "region", "model", "input_tokens", "output_tokens")]
                     for r in usage])
    rows = con.execute(compile_query(book, "USD").script(table="u")).fetchall()
    expected = book.bill(usage)
    assert [(r[7], r[-1]) for r in rows] == [(line.kind, rate_source(line)) for line in expected.lines]
    assert {r[-1] for r in rows if r[7] == "trial"} == {f"{AI_CENTER}:20:3"}


# --- ratecard explain ------------------------------------------------------------------------------

WORKED_EXAMPLE = f"""\
Explaining --record (emr-starrocks-ai-function, USD)
  record  2026-05-03T12:00:00+08:00, account acme, qwen-plus in 'US (Virginia)'
          750 input + 20 output tokens
          billing cycle 2026-05-03T12:00:00+08:00 to 2026-05-03T13:00:00+08:00 (hourly in UTC+8)
  region  'US (Virginia)' is us-east-1 (US (Virginia))
          at rules/alibaba-regions.rules:15:1: region us-east-1        "US (Virginia)", "Virginia"
  group   us-east-1 is in group international
          at {STARROCKS}:16:3: group international = ap-southeast-1, cn-hongkong, eu-central-1, us-east-1,
  table   qwen-plus rates for international
          2 tiers, in force always
          at {STARROCKS}:27:5: international {{
  tier    tier 1 of 2: 0 < T <= 256K
          750 input tokens per request: 0 < 750 <= 256000
          at {STARROCKS}:28:7: 0 < T <= 256K      input 0.000480   output 0.001440
  rate    input: 750 x 0.000480 / 1000 = 0.00036
          USD 0.000480 per 1K tokens = 0.00000048 per token
          at {STARROCKS}:28:26: 0 < T <= 256K      input 0.000480   output 0.001440
  rate    output: 20 x 0.001440 / 1000 = 0.0000288
          USD 0.001440 per 1K tokens = 0.00000144 per token
          at {STARROCKS}:28:43: 0 < T <= 256K      input 0.000480   output 0.001440
  quota   770 free tokens used: credit -0.0003888
          1,000,000 tokens free per account, within 1 month of its first use; consumed in time order, input \
before output within a record
          the account's first use 2026-05-03T12:00:00+08:00: free tokens until 2026-06-03T12:00:00+08:00
          free tokens left before this record: 1000000
          input: -(750 x 0.000480 / 1000) = -0.00036
          output: -(20 x 0.001440 / 1000) = -0.0000288
          free tokens left after it: 999230
          at {STARROCKS}:34:3: quota first-month-free "Free quota: 1 million tokens in the first month" {{
  trial   the book has no free trial
  total   USD 0 = list 0.0003888 + credits -0.0003888
          list price: 0.00036 + 0.0000288 = 0.0003888
          credits: -0.0003888
          rounded to 6 decimals, half-up: list USD 0.000389, billed USD 0.000000 (a bill rounds each account's \
totals, not each record)
billed: USD 0 (list 0.0003888, credits -0.0003888)
"""


def test_explain_walks_the_worked_example_step_by_step(capsys):
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--record", json.dumps(VIRGINIA))
    assert code == 0
    assert out == WORKED_EXAMPLE


def test_explain_json_holds_the_same_steps_and_money_in_strings(capsys):
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--record", json.dumps(VIRGINIA),
                       "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["billed"] is True and data["rejected"] is None
    assert [s["step"] for s in data["steps"]] == ["record", "region", "group", "table", "tier", "rate", "rate",
                                                  "quota", "trial", "total"]
    rate = data["steps"][5]
    assert (rate["summary"], rate["source"], rate["source_text"]) == (
        "input: 750 x 0.000480 / 1000 = 0.00036", f"{STARROCKS}:28:26",
        "0 < T <= 256K      input 0.000480   output 0.001440")
    assert data["totals"] == {"list": "0.0003888", "credits": "-0.0003888", "billed": "0",
                              "list_rounded": "0.000389", "credits_rounded": "-0.000389", "billed_rounded": "0.000000"}


def test_the_api_gives_a_frozen_trace_of_the_engines_numbers(starrocks, virginia_bill):
    trace = explain_record(starrocks, VIRGINIA)
    assert isinstance(trace, Trace) and trace.billed
    assert trace.totals == virginia_bill.totals["USD"]  # the bill's own totals, not a second computation
    assert [line.amount for line in trace.lines] == [line.amount for line in virginia_bill.lines]
    with pytest.raises(AttributeError):
        trace.steps[0].summary = "changed"
    assert trace_text(trace).startswith("Explaining the record (emr-starrocks-ai-function, USD)\n")
    assert trace_dict(trace)["origin"] == "the record"


@pytest.mark.parametrize("change, step, code, words", [
    ({"region": "Mars"}, "region", "E101", "unknown region 'Mars'"),
    ({"input_tokens": 1_000_001}, "tier", "E104", "a request of 1000001 input tokens is beyond the highest tier"),
    ({"model": "qwen-max"}, "table", "E102", "unknown model 'qwen-max'"),
    ({"timestamp": "2026-05-03T12:00:00"}, "record", "E203", "has no UTC offset"),
])
def test_a_rejected_record_is_explained_up_to_the_step_that_rejected_it(capsys, change, step, code, words):
    exit_code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--record",
                            json.dumps({**VIRGINIA, **change}), "--format", "json")
    data = json.loads(out)
    assert exit_code == 1 and data["billed"] is False and data["totals"] is None
    assert (data["rejected"]["step"], data["rejected"]["code"]) == (step, code)
    assert words in data["rejected"]["message"]
    assert data["steps"][-1]["step"] == step and data["steps"][-1]["failed"]
    assert not any(s["failed"] for s in data["steps"][:-1])


def test_beyond_the_top_tier_points_at_the_top_tier_and_says_how_to_fix_it(capsys):
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--record",
                       json.dumps({**VIRGINIA, "input_tokens": 1_000_001}))
    assert code == 1
    assert f"at {STARROCKS}:29:7: 256K < T <= 1M     input 0.001440   output 0.004320" in out
    assert out.endswith("rejected at tier: error[E104]: a request of 1000001 input tokens is beyond the highest "
                        "tier of qwen-plus in us-east-1 (256K < T <= 1M)\n  help: the largest request this book "
                        "prices has 1000000 input tokens; split the request\n")


def test_a_record_that_is_not_json_is_rejected_as_bill_rejects_it(capsys):
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--record", "{not json")
    assert code == 1 and "rejected at record: error[E205]: not valid JSON" in out


def _free_tokens_left_before(account: str, line: int) -> int:
    """The quota left when a record is reached, summed straight from the CSV in timestamp order (no ties here)."""
    from datetime import datetime
    with open(EXAMPLE, newline="") as handle:
        rows = [(n, row) for n, row in enumerate(csv.DictReader(handle), start=2) if row["account"] == account]
    moment = {n: datetime.fromisoformat(row["timestamp"]) for n, row in rows}
    used = sum((int(row["input_tokens"]) + int(row["output_tokens"])) * int(row["requests"])
               for n, row in rows if moment[n] < moment[line])
    return max(0, 1_000_000 - used)


def test_explain_a_usage_line_gives_the_credit_the_real_bill_gives_it(starrocks, capsys):
    """Line 246 is the record that crosses umbrella-docs' free million: only its first 159,092 input tokens are
    free (at its own tier 3 rate, 0.000827)."""
    left = _free_tokens_left_before("umbrella-docs", 246)
    assert left == 159_092
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--usage", str(EXAMPLE), "--line", "246")
    assert code == 0
    assert "  quota   159092 free tokens used: credit -0.131569084\n" in out
    assert "          free tokens left before this record: 159092\n" in out
    assert "          input: -(159092 x 0.000827 / 1000) = -0.131569084\n" in out
    assert "billed: USD 0.190832537 (list 0.322401621, credits -0.131569084)\n" in out
    trace = explain_line(starrocks, EXAMPLE, 246)
    assert [(line.kind, line.token_type, line.quantity) for line in trace.lines if line.kind == "quota"] == [
        ("quota", "input", 159_092)]


def test_explain_a_usage_line_after_the_quota_ran_out(starrocks):
    later = next(item.line for item in read_usage([EXAMPLE]) if hasattr(item, "fields")
                 and item.fields["account"] == "umbrella-docs" and _free_tokens_left_before("umbrella-docs", item.line)
                 == 0 and item.line > 246 and not item.fields["request_id"].startswith("bad"))
    trace = explain_line(starrocks, EXAMPLE, later)
    quota = next(step for step in trace.steps if step.name == "quota")
    assert quota.summary == "not used: the account has no free tokens left"
    assert trace.totals.credits == 0 and trace.totals.billed == trace.totals.list > 0


def test_explain_a_rejected_usage_line_and_a_repeated_request_id(capsys, tmp_path):
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--usage", str(EXAMPLE), "--line", "182",
                       "--format", "json")
    data = json.loads(out)
    assert code == 1 and (data["rejected"]["step"], data["rejected"]["code"]) == ("tier", "E104")
    assert data["steps"][0]["source"].endswith("examples/usage.csv:182:1")
    usage = tmp_path / "usage.jsonl"
    usage.write_text("\n".join(json.dumps({**VIRGINIA, "request_id": "r-1"}) for _ in range(2)) + "\n")
    assert cli(capsys, "explain", "emr-starrocks-ai-function", "--usage", str(usage), "--line", "1")[0] == 0
    code, out, _ = cli(capsys, "explain", "emr-starrocks-ai-function", "--usage", str(usage), "--line", "2")
    assert code == 1 and "rejected at record: error[E207]: request_id 'r-1' was billed already in this run" in out


def test_a_line_that_holds_no_record_is_a_usage_error(capsys):
    code, _, err = cli(capsys, "explain", "emr-starrocks-ai-function", "--usage", str(EXAMPLE), "--line", "1")
    assert code == 2 and "error[E531]: line 1 of" in err


def test_the_trial_is_explained_with_its_credit(capsys):
    code, out, _ = cli(capsys, "explain", "emr-serverless-spark-ai-center", "--currency", "CNY", "--record",
                       json.dumps({**VIRGINIA, "timestamp": "2026-04-07T23:00:00+08:00", "region": "China (Hangzhou)",
                                   "input_tokens": 260, "output_tokens": 50, "requests": 10000}))
    assert code == 0
    assert "  rate    input: 2600000 x 0.00096 / 1000 = 2.496\n          260 tokens x 10000 requests = 2600000 " \
           "tokens\n" in out
    assert (f"  trial   free: the record is before 2026-04-08T00:00:00+08:00: credit -3.696\n"
            "          AI Center free trial: commercial billing starts 2026-04-08 00:00 UTC+8\n"
            "          input: -(2600000 x 0.00096 / 1000) = -2.496\n"
            "          output: -(500000 x 0.0024 / 1000) = -1.2\n"
            f"          at {AI_CENTER}:20:3: trial until 2026-04-08T00:00+08:00") in out
    assert out.endswith("billed: CNY 0 (list 3.696, credits -3.696)\n")


def test_the_examples_of_docs_explain_md_are_what_ratecard_prints(capsys, monkeypatch):
    """Each `$ ratecard explain ...` block of docs/explain.md, run from the checkout, prints exactly what it shows."""
    import re
    import shlex
    monkeypatch.chdir(ROOT)
    blocks = re.findall(r"```\n\$ (ratecard explain .*?)\n(.*?)```", (ROOT / "docs" / "explain.md").read_text(), re.S)
    assert len(blocks) == 4
    for command, shown in blocks:
        _, out, _ = cli(capsys, *shlex.split(command)[1:])
        assert out == shown, command
