"""`ratecard diff`: comparing two books (ratecard.diff), reading one from a git revision (ratecard.revisions),
the bill impact of usage, the renderers and the command's exit codes.

Expected numbers are worked out by hand from the books; the changed books are the shipped ones with one edit
each (`_edited`), so each test names the change it makes.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import ratecard
from conftest import AI_CENTER, STARROCKS
from ratecard.cli.ratecard import main
from ratecard.diff import (
    AmountChange,
    DatesChange,
    NotBilledChange,
    Place,
    PriceChange,
    RegionMove,
    SettingChange,
    TierChange,
    bill_impact,
    diff_books,
)
from ratecard.records import read_usage
from ratecard.resources import rules_dir
from ratecard.revisions import BookSpec, parse_book_spec

ROOT = Path(__file__).resolve().parent.parent
BOOKS = Path(__file__).resolve().parent / "books" / "diff"
USAGE = ROOT / "examples" / "usage.csv"
INTERNATIONAL = ("ap-southeast-1", "cn-hongkong", "eu-central-1", "us-east-1", "us-west-1", "ap-northeast-1",
                 "ap-southeast-5", "na-south-1")
CHINA = ("cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou", "cn-wulanchabu")


def _text(name: str) -> str:
    return (rules_dir() / f"{name}.rules").read_text(encoding="utf-8")


def _edited(name: str, *edits: tuple[str, str]) -> ratecard.PriceBook:
    """A shipped book with each (old, new) text replaced once (an edit that finds nothing fails the test)."""
    text = _text(name)
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return ratecard.loads(text, f"{name}-edited.rules", base_dir=rules_dir())


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["diff", *args])
    out, err = capsys.readouterr()
    return code, out, err


CHINA_TIER_1 = "0 < T <= 128K      input 0.000138   output 0.000344"


# --- comparing books ------------------------------------------------------------------------------

def test_a_book_against_itself_has_no_change(starrocks, capsys):
    assert not diff_books(starrocks, starrocks).changed
    assert _run(capsys, STARROCKS, STARROCKS) == (
        0, f"--- {STARROCKS} ({STARROCKS})\n+++ {STARROCKS} ({STARROCKS})\nno changes\n", "")


def test_a_group_price_change_is_one_line_with_its_exact_percent(starrocks):
    new = _edited(STARROCKS, (CHINA_TIER_1, "0 < T <= 128K      input 0.000150   output 0.000344"))
    diff = diff_books(starrocks, new)
    # (0.000150 - 0.000138) / 0.000138 = 12/138 = 8.695652173913043478260869565217...%, to 30 digits
    assert diff.prices == (PriceChange("qwen-plus", Place("china", CHINA, True), None, "0 < T <= 128K", "input",
                                       "USD", Decimal("0.000138"), Decimal("0.00015")),)
    assert diff.prices[0].percent == Decimal("8.69565217391304347826086956522")
    assert diff.changed  # and nothing else: the worked example is in us-east-1
    assert not (diff.settings or diff.tiers or diff.moves or diff.examples)


def test_the_cli_shows_the_group_change_once_and_exits_1(tmp_path, capsys):
    book = tmp_path / "starrocks.rules"
    book.write_text(_text(STARROCKS).replace(CHINA_TIER_1, "0 < T <= 128K      input 0.000150   output 0.000344"))
    shutil.copy(rules_dir() / "alibaba-regions.rules", tmp_path)
    code, out, err = _run(capsys, STARROCKS, str(book))
    assert (code, err) == (1, "")
    assert out.splitlines()[2:] == [
        "", "prices (per 1K tokens):",
        "  qwen-plus  china (7 regions)  0 < T <= 128K  input  USD  0.000138  ->  0.000150  +8.70%"]


def test_a_tier_split_shows_both_tier_lists_and_the_new_tiers_prices(starrocks):
    new = _edited(STARROCKS, ("      0 < T <= 256K      input 0.000480   output 0.001440\n",
                              ("      0 < T <= 128K      input 0.000400   output 0.001440\n"
                               "      128K < T <= 256K   input 0.000480   output 0.001440\n")))
    diff = diff_books(starrocks, new)
    international = Place("international", INTERNATIONAL, True)
    assert diff.tiers == (TierChange("qwen-plus", international, None, ("0 < T <= 256K", "256K < T <= 1M"),
                                     ("0 < T <= 128K", "128K < T <= 256K", "256K < T <= 1M")),)
    assert [(p.tier, p.token_type, p.old, p.new) for p in diff.prices] == [
        ("0 < T <= 128K", "input", None, Decimal("0.0004")), ("0 < T <= 128K", "output", None, Decimal("0.00144")),
        ("0 < T <= 256K", "input", Decimal("0.00048"), None), ("0 < T <= 256K", "output", Decimal("0.00144"), None),
        ("128K < T <= 256K", "input", None, Decimal("0.00048")),
        ("128K < T <= 256K", "output", None, Decimal("0.00144"))]
    assert {p.place for p in diff.prices} == {international}
    # the worked example (us-east-1, 750 input tokens) is now in the 128K tier: 750 x 0.0004 + 20 x 0.00144 per 1K
    assert [(e.old.rounded, e.new.rounded, e.new.total) for e in diff.examples] == [
        (Decimal("0.000389"), Decimal("0.000329"), Decimal("0.0003288"))]


def test_a_region_moved_between_groups(starrocks):
    new = _edited(STARROCKS, ("cn-zhangjiakou, cn-wulanchabu", "cn-zhangjiakou, cn-wulanchabu, cn-hongkong"),
                  ("ap-southeast-1, cn-hongkong, eu-central-1", "ap-southeast-1, eu-central-1"))
    diff = diff_books(starrocks, new)
    assert diff.moves == (RegionMove("cn-hongkong", ("international",), ("china",)),)
    assert diff.tiers == (TierChange("qwen-plus", Place("cn-hongkong", ("cn-hongkong",), False), None,
                                     ("0 < T <= 256K", "256K < T <= 1M"),
                                     ("0 < T <= 128K", "128K < T <= 256K", "256K < T <= 1M")),)
    assert {p.place.name for p in diff.prices} == {"cn-hongkong"}  # the groups' own prices did not change


def test_a_model_removed_and_one_added(ai_center):
    embedding = ("  model text-embedding-v4 {\n"
                 "    china           { input 0.000086   output not billed }\n"
                 "    international   { input 0.000084   output not billed }\n  }\n")
    removed = _edited(AI_CENTER, (embedding, ""))
    assert diff_books(ai_center, removed).models_removed == ("text-embedding-v4",)
    added = diff_books(removed, ai_center)
    assert (added.models_added, added.models_removed) == (("text-embedding-v4",), ())
    assert [(p.model, p.place.name, p.token_type, p.old, p.new) for p in added.prices] == [
        ("text-embedding-v4", "china", "input", None, Decimal("0.000086")),
        ("text-embedding-v4", "international", "input", None, Decimal("0.000084"))]
    assert [(n.place.name, n.token_type, n.old, n.new) for n in added.not_billed] == [
        ("china", "output", False, True), ("international", "output", False, True)]


def test_a_type_billed_that_was_not_billed(ai_center):
    new = _edited(AI_CENTER, ("china           { input 0.000086   output not billed }",
                              "china           { input 0.000086   output 0.0001 }"))
    diff = diff_books(ai_center, new)
    china = Place("china", ("cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen"), True)
    assert diff.not_billed == (NotBilledChange("text-embedding-v4", china, None, "all", "output", True, False),)
    assert [(p.token_type, p.old, p.new, p.kind) for p in diff.prices] == [("output", None, Decimal("0.0001"), "new")]


def test_a_quota_change(starrocks):
    new = _edited(STARROCKS, ("free 1M tokens per account", "free 2M tokens per account"))
    assert diff_books(starrocks, new).settings == (
        SettingChange("quota", "free tokens", "1,000,000 per account", "2,000,000 per account"),)


def test_dated_tables_with_other_dates():
    path = ROOT / "tests" / "books" / "dated-days-quota.rules"
    old, text = ratecard.load(path), path.read_text()
    for edge in ("until", "from"):  # the boundary between the two east-1 tables moves a day later
        text = text.replace(f"{edge} 2026-05-01T12:00-05:30 {{", f"{edge} 2026-05-02T12:00-05:30 {{")
    new = ratecard.loads(text, "dated.rules")
    diff = diff_books(old, new)
    assert diff.dates == (DatesChange("m-large", Place("east-1", ("east-1",), False),
                                      ("until 2026-05-01T12:00:00-05:30", "from 2026-05-01T12:00:00-05:30"),
                                      ("until 2026-05-02T12:00:00-05:30", "from 2026-05-02T12:00:00-05:30")),)
    assert not diff.prices  # the tables are matched in date order: their prices did not change


def test_an_example_whose_result_changes(starrocks):
    new = _edited(STARROCKS, ("0 < T <= 256K      input 0.000480", "0 < T <= 256K      input 0.000500"))
    (change,) = diff_books(starrocks, new).examples
    # us-east-1, 750 input and 20 output tokens: 750 x 0.0005 / 1000 + 20 x 0.00144 / 1000 = 0.0004038
    assert (change.title, change.request) == ("US (Virginia), one ai_query() call",
                                              "us-east-1 qwen-plus input 750 output 20")
    assert (change.old.total, change.old.rounded) == (Decimal("0.0003888"), Decimal("0.000389"))
    assert (change.new.total, change.new.rounded) == (Decimal("0.0004038"), Decimal("0.000404"))
    assert change.percent == Decimal("3.85802469135802469135802469136")  # 0.000015 / 0.0003888


def test_a_currency_added_with_its_prices(starrocks):
    new = _edited(STARROCKS, ("currency USD", "currency USD, EUR"),
                  ("0 < T <= 256K      input 0.000480   output 0.001440",
                   "0 < T <= 256K      input 0.000480, EUR 0.00045   output 0.001440, EUR 0.00135"))
    diff = diff_books(starrocks, new)
    assert diff.settings == (SettingChange("book", "currencies", "USD", "USD, EUR"),)
    international = Place("international", INTERNATIONAL, True)
    assert diff.prices == (
        PriceChange("qwen-plus", international, None, "0 < T <= 256K", "input", "EUR", None, Decimal("0.00045")),
        PriceChange("qwen-plus", international, None, "0 < T <= 256K", "output", "EUR", None, Decimal("0.00135")))


# --- REV:PATH -------------------------------------------------------------------------------------

def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false",
                    *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path, monkeypatch) -> Path:
    """A git repository with the small book and an include of its regions, committed; the current directory."""
    (tmp_path / "rules").mkdir()
    text = (BOOKS / "small-old.rules").read_text()
    regions, book = text.split("book small", 1)
    (tmp_path / "rules" / "regions.rules").write_text(regions.split("\n\n", 1)[1])
    (tmp_path / "rules" / "book.rules").write_text('include "regions.rules"\n\nbook small' + book)
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "small book")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_rev_path_reads_the_book_from_the_revision(repo, capsys):
    book = repo / "rules" / "book.rules"
    assert _run(capsys, "HEAD:rules/book.rules", "rules/book.rules")[0] == 0
    book.write_text(book.read_text().replace("input 0.001 ", "input 0.0011"))
    code, out, _ = _run(capsys, "HEAD:rules/book.rules", "rules/book.rules")
    assert code == 1
    assert "  m  west (2 regions)  0 < T <= 10K  input  USD  0.001  ->  0.0011  +10.00%" in out.splitlines()


def test_rev_path_reads_includes_from_the_same_revision(repo, capsys, monkeypatch):
    regions = repo / "rules" / "regions.rules"
    regions.write_text(regions.read_text().replace('"Beta Two"', '"Beta 2"'))  # the working tree only
    assert _run(capsys, "HEAD:rules/book.rules", "HEAD:rules/book.rules")[0] == 0
    code, out, _ = _run(capsys, "HEAD:rules/book.rules", "rules/book.rules")
    assert code == 1 and out.splitlines()[2:] == ["", "other changes:", '  region b-2 renamed: "Beta Two" -> "Beta 2"']
    monkeypatch.chdir(repo / "rules")  # ./PATH is relative to the current directory
    assert _run(capsys, "HEAD:./book.rules", "book.rules")[:2] == (1, out.replace("rules/book.rules", "book.rules")
                                                                   .replace("HEAD:book.rules", "HEAD:./book.rules"))


@pytest.mark.parametrize("old, code, message, hint", [
    ("nope:rules/book.rules", "E511", "git knows no revision 'nope'", "name a commit, branch or tag"),
    ("HEAD:rules/none.rules", "E512", "revision 'HEAD' has no file rules/none.rules", "git ls-tree"),
    ("HEAD:rules", "E512", "rules is a directory in revision 'HEAD'", "name a .rules file"),
    ("HEAD:book.rules", "E512", "has no file book.rules", "write HEAD:./book.rules"),
])
def test_rev_path_errors_say_what_is_wrong(repo, capsys, monkeypatch, old, code, message, hint):
    if old == "HEAD:book.rules":
        monkeypatch.chdir(repo / "rules")  # the file is here, but git reads PATH from the top
    status, out, err = _run(capsys, old, str(repo / "rules" / "book.rules"))
    assert (status, out) == (2, "")
    assert err.startswith(f"ratecard: error[{code}]: ") and message in err and hint in err.splitlines()[1]


def test_rev_path_outside_a_repository(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    status, _, err = _run(capsys, "HEAD:book.rules", STARROCKS)
    assert status == 2 and err.startswith("ratecard: error[E510]: ") and "not in a git repository" in err


def test_a_file_with_a_colon_in_its_name_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v1:book.rules").write_text("")
    assert parse_book_spec("v1:book.rules") == BookSpec("v1:book.rules", "v1:book.rules")
    assert parse_book_spec("v2:book.rules") == BookSpec("v2:book.rules", "book.rules", "v2")
    assert parse_book_spec(r"C:\books\x.rules").revision is None
    assert parse_book_spec("main@{2026-05-01 10:00}:x.rules").revision == "main@{2026-05-01 10:00}"


# --- bill impact ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def changed_starrocks() -> ratecard.PriceBook:
    """StarRocks with the china first-tier input price up, cn-hongkong no longer offered, and qwen-max added."""
    return _edited(STARROCKS, (CHINA_TIER_1, "0 < T <= 128K      input 0.000150   output 0.000344"),
                   ("ap-southeast-1, cn-hongkong, eu-central-1", "ap-southeast-1, eu-central-1"),
                   ("  # \"Each user", ("  model qwen-max {\n    international { input 0.0016   output 0.0064 }\n"
                                       "  }\n\n  # \"Each user")))


def test_the_impact_is_the_difference_of_the_two_bills(starrocks, changed_starrocks):
    impact = bill_impact(starrocks, changed_starrocks, read_usage([USAGE]))
    old_bill, new_bill = (book.bill(read_usage([USAGE])) for book in (starrocks, changed_starrocks))
    old_total, new_total = old_bill.totals["USD"], new_bill.totals["USD"]
    assert impact.total == AmountChange("total", old_total.billed, new_total.billed, old_total.billed_rounded,
                                        new_total.billed_rounded)
    assert impact.total.change == new_total.billed - old_total.billed != 0
    for rows in (impact.accounts, impact.models, impact.regions):
        assert sum(r.change for r in rows) == impact.total.change
        assert sum(r.change_rounded for r in rows) == impact.total.change_rounded
    assert [a.name for a in impact.accounts] == sorted({*old_bill.accounts, *new_bill.accounts})


def test_every_record_is_billed_by_both_one_or_neither(starrocks, changed_starrocks):
    impact = bill_impact(starrocks, changed_starrocks, read_usage([USAGE]))
    # 19 cn-hongkong records only the old book prices; the qwen-max one (line 102) only the new book;
    # 6 bad records neither (the 7th reject of the old book was the qwen-max one).
    assert (impact.read, impact.both, len(impact.only_old), len(impact.only_new), impact.neither) == (
        307, 281, 19, 1, 6)
    assert impact.read == impact.both + len(impact.only_old) + len(impact.only_new) + impact.neither
    (qwen_max,) = impact.only_new
    assert (qwen_max.source, qwen_max.line, qwen_max.billed_by, qwen_max.code) == (str(USAGE), 102, "new", "E102")
    assert qwen_max.reason.startswith("unknown model 'qwen-max' in book emr-starrocks-ai-function")
    assert {r.code for r in impact.only_old} == {"E103"} and all("cn-hongkong" in r.reason for r in impact.only_old)


def test_usage_that_changes_nothing_exits_0(capsys):
    code, out, _ = _run(capsys, STARROCKS, STARROCKS, "--usage", str(USAGE))
    assert code == 0 and out.endswith("no changes; 307 records read = 300 billed by both + 0 by the old book only"
                                      " + 0 by the new book only + 7 by neither\n")


def test_bills_need_a_currency_both_books_price_in(capsys):
    code, _, err = _run(capsys, STARROCKS, AI_CENTER, "--usage", str(USAGE), "--currency", "CNY")
    assert code == 2 and err.startswith("ratecard: error[E513]: emr-starrocks-ai-function has no prices in CNY")


def test_standard_input_is_not_billed_twice(capsys):
    code, _, err = _run(capsys, STARROCKS, STARROCKS, "--usage", "-")
    assert code == 2 and err.startswith("ratecard: error[E514]: standard input cannot be billed by both books")


# --- formats --------------------------------------------------------------------------------------

SMALL = ["tests/books/diff/small-old.rules", "tests/books/diff/small-new.rules", "--usage",
         "tests/books/diff/usage.csv"]


def test_markdown_for_a_pull_request(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = _run(capsys, *SMALL, "--format", "markdown")
    assert code == 1
    assert out == """\
### ratecard diff: `small`

`tests/books/diff/small-old.rules` → `tests/books/diff/small-new.rules`

#### Prices (per 1K tokens)

| Model | Where | Tier | Token | Old | New | Change |
| --- | --- | --- | --- | ---: | ---: | ---: |
| m | west (2 regions) | `0 < T <= 10K` | input | USD 0.001 | USD 0.00125 | +25.00% |
| m | c-1 | `0 < T <= 10K` | input | — | USD 0.01 | new |
| m | c-1 | `0 < T <= 10K` | output | — | USD 0.01 | new |

#### Other changes

- region b-2 renamed: "Beta Two" → "Beta 2"
- region added: c-1 "Gamma"

#### Bill impact (USD)

4 records read = 2 billed by both + 0 by the old book only + 1 by the new book only + 1 by neither.

|  | Old | New | Change | % |
| --- | ---: | ---: | ---: | ---: |
| **total** | 0.003600 | 0.014850 | +0.011250 | +312.50% |
| account acme | 0.003600 | 0.003850 | +0.000250 | +6.94% |
| account globex | 0.000000 | 0.011000 | +0.011000 | n/a |
| model m | 0.003600 | 0.014850 | +0.011250 | +312.50% |
| region b-1 | 0.001200 | 0.001450 | +0.000250 | +20.83% |
| region c-1 | 0.000000 | 0.011000 | +0.011000 | n/a |

Records billed by one book only (`--format json` lists each):

| Billed by | Records | The other book says |
| --- | ---: | --- |
| new book | 1: `tests/books/diff/usage.csv:4` | E101: unknown region 'c-1' (did you mean 'b-1'?) |
"""


def test_json_schema(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, _ = _run(capsys, *SMALL, "--format", "json")
    document = json.loads(out)
    assert code == 1 and document["schema"] == "ratecard-diff/1" and document["changed"] is True
    assert list(document) == ["schema", "changed", "old", "new", "unit", "settings", "models", "regions", "groups",
                              "moves", "prices", "not_billed", "tiers", "dates", "examples", "impact"]
    assert document["old"] == {"label": "tests/books/diff/small-old.rules", "book": "small"}
    assert document["regions"] == [{"region": "b-2", "old_names": ["Beta Two"], "new_names": ["Beta 2"]},
                                   {"region": "c-1", "old_names": None, "new_names": ["Gamma"]}]
    assert document["prices"][0] == {
        "model": "m", "place": {"name": "west", "group": True, "regions": ["b-1", "b-2"]}, "period": None,
        "tier": "0 < T <= 10K", "token_type": "input", "unit": None, "currency": "USD", "old": "0.001",
        "new": "0.00125", "change": "changed", "percent": "25"}
    assert [(p["place"]["name"], p["token_type"], p["old"], p["new"], p["change"]) for p in document["prices"][1:]] \
        == [("c-1", "input", None, "0.01", "new"), ("c-1", "output", None, "0.01", "new")]
    impact = document["impact"]
    assert impact["records"] == {"read": 4, "both": 2, "only_old": 0, "only_new": 1, "neither": 1}
    # b-1: 1,000 input x 0.001 + 100 output x 0.002 per 1K = 0.0012, then 0.00125 + 0.0002 = 0.00145; c-1: 0.011
    assert impact["regions"][1] == {"name": "b-1", "old": "0.0012", "new": "0.00145", "change": "0.00025",
                                    "old_rounded": "0.001200", "new_rounded": "0.001450",
                                    "change_rounded": "0.000250", "percent": "20.8333333333333333333333333333"}
    assert impact["total"]["old"] == "0.0036" and impact["total"]["new"] == "0.01485"
    assert impact["only_new"] == [{"source": "tests/books/diff/usage.csv", "line": 4,
                                   "record": "2026-05-01T11:00:00Z,globex,c-1,m,1000,100,1,r-3", "billed_by": "new",
                                   "code": "E101", "reason": "unknown region 'c-1' (did you mean 'b-1'?)"}]


def test_help_states_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["diff", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 nothing changed" in out and "; 1 something changed; 2 an error" in out


# --- docs/diff.md ---------------------------------------------------------------------------------

def test_the_documented_review(tmp_path, monkeypatch, capsys):
    """docs/diff.md's review, run: its change applied with git apply to a clone of the shipped rules, and its
    commands' outputs (Markdown with the usage, text without) and its Python block held to the page."""
    page = (ROOT / "docs" / "diff.md").read_text(encoding="utf-8")
    block = {kind: re.findall(rf"```{kind}\n(.*?)```", page, re.DOTALL)[0] for kind in ("diff", "markdown", "text",
                                                                                        "python")}
    shutil.copytree(rules_dir(), tmp_path / "rules")
    shutil.copy(USAGE, tmp_path / "last-month.csv")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "the shipped rules")
    (tmp_path / "change.diff").write_text(block["diff"])
    _git(tmp_path, "apply", "change.diff")
    monkeypatch.chdir(tmp_path)
    book = "rules/emr-starrocks-ai-function.rules"
    assert _run(capsys, f"HEAD:{book}", book, "--usage", "last-month.csv", "--format", "markdown") == (
        1, block["markdown"], "")
    assert _run(capsys, f"HEAD:{book}", book) == (1, block["text"], "")
    exec(compile(block["python"], "docs/diff.md", "exec"), {})  # noqa: S102 (our own page's example)


def test_regression_moving_a_time_windows_hours_is_a_change():
    """`ratecard diff` said `no changes` when off-peak moved from 16:30 to 16:00: half an hour of requests a day
    changes price. A window added, and one given the book's multiplier, are changes too."""
    path = Path(__file__).parent / "books" / "windows.rules"
    text = path.read_text()
    old = ratecard.loads(text, name=str(path))
    moved = ratecard.loads(text.replace("window off-peak = 16:30 to", "window off-peak = 16:00 to"), name=str(path))
    diff = diff_books(old, moved)
    assert diff.changed
    assert [(c.subject, c.setting, c.old, c.new) for c in diff.settings] == [
        ("window off-peak", "hours", "16:30 to 00:30 in UTC", "16:00 to 00:30 in UTC")]
    added = ratecard.loads(text.replace("  window weekend =", "  window holiday = sat 11:00 to sat 12:00 in UTC * 0.5\n"
                                        "  window weekend ="), name=str(path))
    first, *models = diff_books(old, added).settings
    assert (first.subject, first.old, first.new) == ("window holiday", None, "sat 11:00 to sat 12:00 in UTC")
    assert [(c.subject, c.setting) for c in models] == [(f"model {m}", "variants") for m in added.models]
    assert all("holiday" in c.new and "holiday" not in c.old for c in models)  # its multiplier: every model
