"""Hostile input on the records and billing side (issue 7): each test names a finding and failed before its fix.

Nothing is lost (a bad line costs only itself), nothing is mispriced silently (a header without the columns
it needs is refused, empty counts are rejects, a repeated request_id is billed once), and nothing reaches the
user as a traceback (huge counts, far-off timestamps, wrong argument types).
"""

from __future__ import annotations

import io
import pickle
import sys
from datetime import date, datetime, timedelta, timezone
from decimal import Context, Decimal, Inexact, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import ratecard
from ratecard.billing import BillProgress, QuotaEntry, RecordRejected, _QuotaPrefix
from ratecard.records import Reject, UsageFileError, read_usage

D = Decimal
HEADER = "timestamp,account,region,model,input_tokens,output_tokens,request_id\n"


def row(n: int, stamp: str = "2026-05-01T10:00:00+08:00", tokens: str = "10", account: str = "a") -> str:
    return f"{stamp},{account},us-east-1,qwen-plus,{tokens},1,r{n}\n"


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


# --- 1. a malformed line loses only itself -----------------------------------------------------------

def test_a_stray_quote_costs_only_its_own_line(starrocks, tmp_path):
    lines = [row(n) for n in range(1000)]
    lines[10] = lines[10].replace("qwen-plus", 'qwen"-plus', 1).replace(",a,", ',"a,', 1)
    bill = starrocks.bill(read_usage([write(tmp_path, "u.csv", HEADER + "".join(lines))]))
    assert (bill.read, bill.billed, bill.rejected) == (1000, 999, 1)
    assert (bill.rejects[0].line, bill.rejects[0].code) == (12, "E205")


def test_a_line_past_the_csv_field_limit_is_a_reject_not_a_crash(starrocks, tmp_path):
    huge = row(1).replace(",a,", "," + "x" * 200_000 + ",", 1)
    bill = starrocks.bill(read_usage([write(tmp_path, "u.csv", HEADER + row(0) + huge + row(2))]))
    assert (bill.read, bill.billed, bill.rejected) == (3, 2, 1)
    assert (bill.rejects[0].line, bill.rejects[0].code) == (3, "E206")
    assert "200,0" in bill.rejects[0].reason and len(bill.rejects[0].record) < 1000


def test_a_quoted_line_break_does_not_join_two_lines(starrocks, tmp_path):
    text = HEADER + row(0).replace(",a,", ',"a', 1) + 'b",us-east-1\n' + row(2)
    bill = starrocks.bill(read_usage([write(tmp_path, "u.csv", text)]))
    assert (bill.read, bill.billed, bill.rejected) == (3, 1, 2)
    assert [r.line for r in bill.rejects] == [2, 3]


def test_invalid_utf8_costs_only_its_line_and_names_it(starrocks, tmp_path):
    text = (HEADER + row(0)).encode() + row(1).replace(",a,", ",\xff,").encode("latin-1") + row(2).encode()
    bill = starrocks.bill(read_usage([write(tmp_path, "u.csv", text)]))
    assert (bill.billed, bill.rejected) == (2, 1)
    assert bill.rejects[0].line == 3 and "not UTF-8" in bill.rejects[0].reason
    assert str(tmp_path / "u.csv") == bill.rejects[0].source


def test_a_utf8_bom_and_crlf_line_ends_are_read(starrocks, tmp_path):
    text = "\ufeff" + (HEADER + row(0) + row(1)).replace("\n", "\r\n")
    assert starrocks.bill(read_usage([write(tmp_path, "u.csv", text)])).billed == 2


def test_usage_from_standard_input_is_sniffed(starrocks, monkeypatch):
    jsonl = b'{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "qwen-plus", ' \
            b'"input_tokens": 750, "output_tokens": 20}\n'
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(jsonl))))
    bill = starrocks.bill(read_usage(["-"]))
    assert bill.billed == 1 and bill.totals["USD"].list == D("0.0003888")
    csv_text = (HEADER + row(0)).encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(io.BytesIO(csv_text))))
    assert starrocks.bill(read_usage(["-"])).billed == 1


# --- 2. never mispriced silently ------------------------------------------------------------------------

@pytest.mark.parametrize("header, words", [
    ("timestamp,account,region,model,input,output", "did you mean 'input_tokens'"),
    ("timestamp,account,region,model,requests", "no column input_tokens, output_tokens"),
    ("timestamp,account,region,model,input_tokens,output_tokens,request", "did you mean 'requests'"),
])
def test_a_header_without_the_columns_it_needs_is_refused(starrocks, tmp_path, header, words):
    usage = write(tmp_path, "u.csv", header + "\n2026-05-01T10:00:00Z,a,us-east-1,qwen-plus,1,1\n")
    with pytest.raises(UsageFileError, match=words):
        starrocks.bill(read_usage([usage]))


def test_a_bad_header_in_a_later_file_stops_the_run_before_any_record(starrocks, tmp_path):
    good = write(tmp_path, "a.csv", HEADER + row(0))
    bad = write(tmp_path, "b.csv", "timestamp,account,region,model,input,output\n")
    progress = []
    with pytest.raises(UsageFileError, match="b.csv"):
        starrocks.bill(read_usage([good, bad]), on_progress=progress.append)
    assert progress == []


def test_extra_columns_that_look_like_nothing_known_are_left_alone(starrocks, tmp_path):
    usage = write(tmp_path, "u.csv", HEADER.rstrip("\n") + ",project\n" + row(0).rstrip("\n") + ",p1\n")
    assert starrocks.bill(read_usage([usage])).billed == 1


def test_empty_and_null_counts_are_rejects_never_zero(starrocks, tmp_path):
    csv_usage = write(tmp_path, "u.csv", HEADER + row(0, tokens=""))
    [reject] = starrocks.bill(read_usage([csv_usage])).rejects
    assert (reject.code, reject.reason.split(" (")[0]) == ("E204", "input_tokens is empty")
    jsonl = write(tmp_path, "u.jsonl", '{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1",'
                                       ' "model": "qwen-plus", "input_tokens": 5, "output_tokens": null}\n')
    [reject] = starrocks.bill(read_usage([jsonl])).rejects
    assert (reject.code, reject.reason.split(" (")[0]) == ("E204", "output_tokens is null")
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "qwen-plus",
              "input_tokens": "5"}
    assert [r.code for r in starrocks.bill([record]).rejects] == ["E201"]


def test_the_same_file_twice_does_not_double_the_bill(starrocks, tmp_path):
    usage = write(tmp_path, "u.csv", HEADER + row(0) + row(1) + row(2))
    once = starrocks.bill(read_usage([usage]))
    twice = starrocks.bill(read_usage([usage, usage]))
    assert twice.totals == once.totals and (twice.read, twice.billed, twice.rejected) == (6, 3, 3)
    assert {r.code for r in twice.rejects} == {"E207"}
    assert "r0" in twice.rejects[0].reason


def test_a_rejected_first_occurrence_does_not_claim_its_request_id(starrocks, tmp_path):
    usage = write(tmp_path, "u.csv", HEADER + row(0, tokens="x") + row(0))
    bill = starrocks.bill(read_usage([usage]))
    assert (bill.billed, [r.code for r in bill.rejects]) == (1, ["E204"])


def test_a_json_lines_record_with_a_repeated_key_is_rejected(starrocks, tmp_path):
    jsonl = write(tmp_path, "u.jsonl", '{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1",'
                                       ' "model": "qwen-plus", "input_tokens": 5, "output_tokens": 1, '
                                       '"input_tokens": 500000}\n')
    [reject] = starrocks.bill(read_usage([jsonl])).rejects
    assert reject.code == "E205" and "repeats the key 'input_tokens'" in reject.reason


@pytest.mark.parametrize("field, value", [
    ("output_tokens", str(10**30 + 1)),
    ("output_tokens", "9" * 61),
    ("input_tokens", "1" + "0" * 5000),
    ("requests", str(10**12 + 1)),
])
def test_counts_beyond_the_limits_are_rejects_with_a_reason(starrocks, field, value):
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "qwen-plus",
              "input_tokens": "5", "output_tokens": "5", field: value}
    [reject] = starrocks.bill([record]).rejects
    assert reject.code == "E204" and "more than ratecard bills in one record" in reject.reason


def test_a_5000_digit_json_number_is_a_reject(starrocks, tmp_path):
    huge = "1" + "0" * 5000
    jsonl = write(tmp_path, "u.jsonl", '{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1",'
                                       f' "model": "qwen-plus", "input_tokens": {huge}, "output_tokens": 1}}\n')
    assert [r.code for r in starrocks.bill(read_usage([jsonl])).rejects] == ["E204"]


def test_money_is_exact_at_the_largest_counts_accepted(starrocks):
    tokens, requests = 10**15 - 1, 10**12
    book = ratecard.loads("""
        include "alibaba-regions.rules"
        book big "Big" { currency USD  price per 1M tokens  cycle hourly in UTC  round 6 half-up
          model m { us-east-1 { input 0.123456789012345678901234567891  output 3 } } }""")
    quote = book.quote(region="us-east-1", model="m", tokens={"input": tokens, "output": tokens}, requests=requests)
    with localcontext(Context(prec=100, traps=[Inexact])):
        exact = (D("0.123456789012345678901234567891") + 3) * tokens * requests / 10**6
        thrice = 3 * exact
    assert quote.total == exact
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "m",
              "input_tokens": str(tokens), "output_tokens": str(tokens), "requests": str(requests)}
    bill = book.bill([record] * 3)
    assert bill.totals["USD"].billed == thrice


@pytest.mark.parametrize("stamp", ["9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59+08:00",
                                   "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9000-01-01T00:00:00Z",
                                   "1969-12-31T23:59:59Z"])
def test_timestamps_out_of_range_are_rejects(starrocks, stamp):
    record = {"timestamp": stamp, "account": "a", "region": "us-east-1", "model": "qwen-plus",
              "input_tokens": "5", "output_tokens": "5"}
    [reject] = starrocks.bill([record]).rejects
    assert reject.code == "E202" and "out of range" in reject.reason


def test_the_minute_cache_checks_the_seconds_it_reuses(starrocks, tmp_path):
    rows = [row(0, "2026-05-01T10:15:00+08:00"), row(1, "2026-05-01T10:15:01+08:00"),
            row(2, "2026-05-01T10:15:0²+08:00"), row(3, "2026-05-01T10:15:0٣+08:00"),
            row(4, "2026-05-01T10:15:60+08:00"), row(5, "2026-05-01T10:15:5 +08:00")]
    bill = starrocks.bill(read_usage([write(tmp_path, "u.csv", HEADER + "".join(rows))]))
    assert bill.billed == 2 and [r.code for r in bill.rejects] == ["E202"] * 4


ALPHABET = "0123456789+-:TZ .²٣x\u00a0"


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 24), st.sampled_from(ALPHABET), st.integers(0, 7),
                          st.sampled_from(ALPHABET)), min_size=1, max_size=12))
def test_mutated_timestamps_and_counts_bill_alike_from_csv_and_from_dicts(tmp_path_factory, mutations):
    """Characters of valid timestamps and counts replaced at random: a CSV file and the same rows as dicts
    (parsed by a different route) must bill and reject alike."""
    rows = []
    for n, (at, char, count_at, count_char) in enumerate(mutations):
        stamp = ("2026-05-01T10:15:0" + str(n % 10) + "+08:00")
        stamp = stamp[:at] + char + stamp[at + 1:]
        tokens = "1234567"[:count_at] + count_char + "1234567"[count_at + 1:]
        rows.append({"timestamp": stamp, "account": "a", "region": "us-east-1", "model": "qwen-plus",
                     "input_tokens": tokens, "output_tokens": "3", "request_id": ""})
    path = tmp_path_factory.mktemp("mutated") / "u.csv"
    path.write_text(HEADER + "".join(",".join([r["timestamp"], "a", "us-east-1", "qwen-plus", r["input_tokens"], "3",
                                                ""]) + "\n" for r in rows), encoding="utf-8")
    book = ratecard.load("emr-starrocks-ai-function")
    from_csv, from_dicts = book.bill(read_usage([path])), book.bill(rows)
    assert from_csv.totals == from_dicts.totals and from_csv.billed == from_dicts.billed
    assert [r.code for r in from_csv.rejects] == [r.code for r in from_dicts.rejects]


# --- 3. every error is a clear error -----------------------------------------------------------------------

@pytest.mark.parametrize("arguments, code", [
    ({"at": date(2026, 5, 1)}, "E109"),
    ({"at": 1777629600}, "E109"),
    ({"tokens": None}, "E106"),
    ({"tokens": [("input", 5)]}, "E106"),
    ({"model": None}, "E109"),
    ({"region": None}, "E109"),
    ({"region": ["us-east-1"]}, "E109"),
    ({"requests": True}, "E106"),
    ({"requests": 10**12 + 1}, "E106"),
    ({"tokens": {"input": 10**15}}, "E104"),  # beyond the highest tier before it is beyond the limit
    ({"tokens": {"output": 10**15}}, "E106"),
    ({"tokens": {1: 5}}, "E107"),
    ({"at": "9999-12-31T23:00:00-14:00"}, "E108"),
])
def test_quote_arguments_of_the_wrong_kind_are_ratecard_errors(starrocks, arguments, code):
    call = {"region": "us-east-1", "model": "qwen-plus", "tokens": {"input": 750, "output": 20}, **arguments}
    with pytest.raises(ratecard.RatecardError) as raised:
        starrocks.quote(**call)
    assert raised.value.code == code


@pytest.mark.parametrize("arguments", [{"records": None}, {"records": "usage.csv"}, {"records": {"a": 1}},
                                       {"records": [], "ledger": {}}, {"records": [], "assume_tz": "UTC+8"},
                                       {"records": [], "on_reject": 5}, {"records": [], "currency": "EUR"}])
def test_bill_arguments_of_the_wrong_kind_are_ratecard_errors(starrocks, arguments):
    with pytest.raises(ratecard.RatecardError):
        starrocks.bill(**arguments)


def test_a_record_that_is_not_a_mapping_is_a_reject(starrocks):
    bill = starrocks.bill([None, 5, ["x"]])
    assert (bill.read, bill.rejected) == (3, 3) and {r.code for r in bill.rejects} == {"E205"}


def test_errors_survive_pickling(starrocks):
    with pytest.raises(ratecard.RulesError) as rules:
        ratecard.loads("book b { currency USD }")
    reject = Reject("u.csv", 3, "x", "E204", "bad")
    with pytest.raises(ratecard.PricingError) as pricing:
        starrocks.quote(region="mars", model="qwen-plus", tokens={"input": 1})
    for error in (rules.value, RecordRejected(reject), pricing.value):
        copy = pickle.loads(pickle.dumps(error))
        assert (type(copy), str(copy), copy.code, copy.hint) == (type(error), str(error), error.code, error.hint)
    assert pickle.loads(pickle.dumps(RecordRejected(reject))).reject == reject
    assert pickle.loads(pickle.dumps(rules.value)).diagnostics == rules.value.diagnostics


# --- 4 and 6: progress, and a quota prefix that stays cheap ------------------------------------------------

def test_progress_is_reported_while_reading_and_while_billing(starrocks, tmp_path):
    usage = write(tmp_path, "u.csv", HEADER + "".join(row(n, account=f"a{n % 300}") for n in range(20_000)))
    seen: list[BillProgress] = []
    starrocks.bill(read_usage([usage]), on_progress=seen.append)
    phases = [p.phase for p in seen]
    assert "reading" in phases and "billing" in phases and phases.index("reading") < phases.index("billing")
    last_read = [p for p in seen if p.phase == "reading"][-1]
    assert last_read.done == last_read.total == usage.stat().st_size and last_read.records == 20_000
    last = seen[-1]
    assert last.done == last.total


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 60), st.lists(st.tuples(st.integers(0, 40), st.integers(1, 9)), max_size=40))
def test_the_quota_prefix_with_a_running_total_keeps_exactly_the_entries_that_can_earn(free, entries):
    prefix = _QuotaPrefix(free)
    for number, (instant, tokens) in enumerate(entries):
        prefix.offer(QuotaEntry((instant, number), None, (("input", tokens),), tokens))
    ordered = sorted(((instant, number), tokens) for number, (instant, tokens) in enumerate(entries))
    expected, total = [], 0
    for order, tokens in ordered:  # the shortest billing-order prefix that holds the free tokens
        if total >= free:
            break
        expected.append(order)
        total += tokens
    assert [entry.order for entry in prefix.entries] == expected
    assert prefix.total == total and prefix.full == (total >= free)


def test_forty_thousand_records_inside_the_quota_are_credited_exactly(starrocks):
    start = datetime(2026, 5, 1, tzinfo=timezone.utc)
    records = [{"timestamp": (start + timedelta(seconds=n)).isoformat(), "account": "busy", "region": "us-east-1",
                "model": "qwen-plus", "input_tokens": "1", "output_tokens": "0"} for n in range(40_000)]
    bill = starrocks.bill(reversed(records))
    assert bill.totals["USD"].billed == 0 and bill.ledger.accounts["busy"].consumed == 40_000


def test_credits_and_totals_stay_exact_beyond_28_digits():
    """Python's `sum` and unary minus round to the thread's 28-digit context: credits and totals must not."""
    book = ratecard.loads("""
        include "alibaba-regions.rules"
        book big "Big" { currency USD  price per 1M tokens  cycle hourly in UTC  round 6 half-up
          model m { us-east-1 { input 0.123456789012345678901234567891  output 3 } }
          quota q { free 1M tokens per account  window 1 month from first use  consume input } }""")
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "m",
              "input_tokens": str(10**15 - 1), "output_tokens": "0", "requests": str(10**12)}
    bill = book.bill([record])
    with localcontext(Context(prec=100, traps=[Inexact])):
        listed = D("0.123456789012345678901234567891") * (10**15 - 1) * 10**12 / 10**6
        credit = -D("0.123456789012345678901234567891") * 10**6 / 10**6
        assert bill.totals["USD"].list == listed
        assert bill.totals["USD"].credits == credit
        assert bill.totals["USD"].billed == listed + credit


@pytest.mark.parametrize("call", [lambda: ratecard.load(None), lambda: ratecard.load(123), lambda: ratecard.load(""),
                                  lambda: ratecard.loads(None), lambda: ratecard.loads(b"book b {}"),
                                  lambda: ratecard.analyze(None), lambda: ratecard.loads("", base_dir=5)])
def test_load_arguments_of_the_wrong_kind_are_ratecard_errors(call):
    with pytest.raises(ratecard.RatecardError) as raised:
        call()
    assert raised.value.code == "E109"


# --- found in review ----------------------------------------------------------------------------------------

def test_a_lone_surrogate_in_json_lines_is_a_reject_and_every_format_writes(starrocks, tmp_path, capsys):
    from ratecard.cli.ratecard import main as ratecard_main
    good = '{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "qwen-plus", ' \
           '"input_tokens": 5, "output_tokens": 1}\n'
    text = good + good.replace('"a"', '"a\\ud800b"') + good.replace('"us-east-1"', '"\\ud800"')
    usage = write(tmp_path, "u.jsonl", text)
    bill = starrocks.bill(read_usage([usage]))
    assert (bill.billed, [r.code for r in bill.rejects]) == (1, ["E205", "E205"])
    for form in ("table", "csv", "toml", "focus", "json"):
        assert ratecard_main(["bill", "emr-starrocks-ai-function", str(usage), "--format", form,
                              "--out", str(tmp_path / f"b.{form}")]) == 1
    assert "internal error" not in capsys.readouterr().err


def test_a_lone_surrogate_from_code_is_a_reject(starrocks):
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": "a\ud800", "region": "us-east-1", "model": "qwen-plus",
              "input_tokens": "5", "output_tokens": "1"}
    assert [r.code for r in starrocks.bill([record]).rejects] == ["E205"]


@pytest.mark.parametrize("field", ["input_tokens", "requests"])
def test_a_count_of_thousands_of_leading_zeros_is_read_not_a_crash(starrocks, field):
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "qwen-plus",
              "input_tokens": "750", "output_tokens": "20", field: "0" * 5000 + ("750" if field == "input_tokens"
                                                                                else "1")}
    bill = starrocks.bill([record])
    assert bill.billed == 1 and bill.totals["USD"].list == D("0.0003888")


def test_the_order_of_json_keys_does_not_change_the_bill(tmp_path):
    """Two records at one instant, one with output_tokens written first: the quota goes the same way."""
    book = ratecard.loads("""
        include "alibaba-regions.rules"
        book q "Q" { currency USD  price per 1K tokens  cycle hourly in UTC  round 6 half-up
          model m { tier by input tokens per request
                    us-east-1 { 0 < T <= 1K input 1 output 2
                                1K < T <= 5K input 3 output 4 } }
          quota f { free 1K tokens per account  window 1 month from first use  consume input, output } }""")
    small = '"input_tokens": 600, "output_tokens": 100'
    large = '"input_tokens": 2000, "output_tokens": 100'
    head = '{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1", "model": "m", '
    as_written = write(tmp_path, "a.jsonl", head + small + "}\n" + head + large + "}\n")
    reordered = write(tmp_path, "b.jsonl", head + '"output_tokens": 100, "input_tokens": 600' + "}\n" + head + large
                      + "}\n")
    assert book.bill(read_usage([as_written])).totals == book.bill(read_usage([reordered])).totals


def test_usage_files_with_a_bom_can_be_billed_twice(starrocks, tmp_path):
    files = read_usage([write(tmp_path, "u.csv", "\ufeff" + HEADER + row(0))])
    assert starrocks.bill(files).billed == starrocks.bill(files).billed == 1


def test_streamed_toml_escapes_what_toml_requires(starrocks, tmp_path):
    import tomllib

    from ratecard.writers import to_toml
    bill = starrocks.bill([{"timestamp": "2026-05-01T10:00:00Z", "account": "a\x7fb\u2028c\x01", "region": "us-east-1",
                            "model": "qwen-plus", "input_tokens": "5", "output_tokens": "1"}])
    assert tomllib.loads(to_toml(bill, starrocks))["lines"][0]["account"] == "a\x7fb\u2028c\x01"


def test_read_usage_takes_one_path_and_a_missing_file_is_a_ratecard_error(starrocks, tmp_path):
    usage = write(tmp_path, "u.csv", HEADER + row(0))
    assert starrocks.bill(read_usage(str(usage))).billed == 1
    with pytest.raises(UsageFileError, match="cannot read"):
        starrocks.bill(read_usage([tmp_path / "missing.csv"]))


def test_an_empty_bill_keeps_the_books_places_and_a_credit_is_never_minus_zero(starrocks):
    empty = starrocks.bill([])
    assert str(empty.totals["USD"].billed_rounded) == "0.000000"
    tiny = starrocks.bill([{"timestamp": "2026-05-01T10:00:00Z", "account": "a", "region": "us-east-1",
                            "model": "qwen-plus", "input_tokens": "1", "output_tokens": "0"}])
    assert {str(line.amount_rounded) for line in tiny.lines} == {"0.000000"}


@pytest.mark.parametrize("value", [[], {}, True, 1.5, ["a"]])
def test_a_name_that_is_not_text_is_a_reject(starrocks, value):
    record = {"timestamp": "2026-05-01T10:00:00Z", "account": value, "region": "us-east-1", "model": "qwen-plus",
              "input_tokens": "5", "output_tokens": "1"}
    assert [r.code for r in starrocks.bill([record]).rejects] == ["E205"]
