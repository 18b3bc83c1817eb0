"""rulecheck: one case file per mistake, its rendered diagnostics snapshotted (each checked by hand:
the line, the column, the caret and the hint point at the mistake), the JSON form, the exit codes,
and a fuzz test that breaks the shipped books at random and expects findings, never a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ratecard.cli.rulecheck import main as rulecheck
from ratecard.include import read_text_program
from ratecard.loader import analyze_program
from ratecard.resources import rules_dir

CASES = Path(__file__).parent / "cases"
CASE_FILES = sorted(p.name for p in CASES.glob("R0*.rules"))
WARNINGS = {"R027", "R028"}


def run(capsys, *args, cwd=CASES):
    before = os.getcwd()
    os.chdir(cwd)
    try:
        code = rulecheck(list(args))
    finally:
        os.chdir(before)
    out = capsys.readouterr()
    shipped = str(rules_dir().resolve())
    return code, out.out.replace(shipped, "<shipped rules>"), out.err


@pytest.mark.parametrize("name", CASE_FILES)
def test_case(capsys, snapshot, name):
    code_expected = name[:4]
    exit_code, out, _ = run(capsys, name)
    assert f"[{code_expected}]" in out
    assert exit_code == (0 if code_expected in WARNINGS else 1)
    assert "Traceback" not in out
    assert out == snapshot
    if code_expected in WARNINGS:
        assert run(capsys, "--strict", name)[0] == 1


def test_every_code_has_a_case_and_a_doc():
    import re
    from ratecard import check, examples, include, parse
    codes = {v for m in (check, examples, include, parse) for k, v in vars(m).items()
             if isinstance(v, str) and re.fullmatch(r"R0\d\d", v)} - {"R006"}
    assert codes <= {name[:4] for name in CASE_FILES}
    docs = (Path(__file__).parents[2] / "docs" / "diagnostics.md").read_text()
    assert all(f"## {code}" in docs for code in codes | {"R006"})


def test_shipped_books_are_clean(capsys):
    exit_code, out, _ = run(capsys, str(rules_dir()))
    assert exit_code == 0
    assert out == "rulecheck: 2 book(s) checked, 0 error(s), 0 warning(s)\n"


def test_json_format(capsys):
    exit_code, out, err = run(capsys, "--format", "json", "R020-tier-gap.rules", "R027-zero-price.rules")
    assert exit_code == 1
    document = json.loads(out)
    assert document["books"] == 2
    fields = {"code": str, "severity": str, "message": str, "file": str, "line": int, "column": int,
              "end_line": int, "end_column": int, "hint": (str, type(None))}
    for diagnostic in document["diagnostics"]:
        assert set(diagnostic) == set(fields)
        assert all(isinstance(diagnostic[k], t) for k, t in fields.items())
        assert diagnostic["severity"] in ("error", "warning")
    gap = document["diagnostics"][0]
    assert (gap["code"], gap["file"], gap["line"], gap["column"], gap["end_column"]) == (
        "R020", "R020-tier-gap.rules", 12, 7, 21)
    assert "summary" not in out and "1 error(s)" in err


def test_github_format(capsys):
    exit_code, out, _ = run(capsys, "--format", "github", "R026-negative-price.rules")
    assert exit_code == 1
    assert out.splitlines()[0].startswith(
        "::error file=R026-negative-price.rules,line=9,col=23,endLine=9,endColumn=32,title=R026::negative price")


def test_usage_errors_exit_2(capsys, tmp_path):
    assert run(capsys, "no-such.rules")[0] == 2
    binary = tmp_path / "binary.rules"
    binary.write_bytes(b"book \xff\xfe {")
    code, out, _ = run(capsys, str(binary))
    assert code == 2 and "not UTF-8" in out


def test_a_directory_is_checked_book_by_book(capsys):
    code, out, _ = run(capsys, ".")
    assert code == 1
    assert f"{len(CASE_FILES)} book(s) checked" in out


def test_explain_spells_out_multipliers(capsys):
    code, out, _ = run(capsys, "--explain", "emr-starrocks-ai-function")
    assert code == 0
    assert "tier 2: 128,000 < T <= 256,000   (written 128K < T <= 256K, line 24)" in out
    assert "cn-wulanchabu   group china" in out
    assert "input      USD 0.000480 per 1K tokens  = 0.00000048 per token" in out
    assert "US (Virginia), one ai_query() call" in out and "(passes)" in out


# --- the mistakes a tired person makes in a shipped book: one diagnostic, at the right place -------

@pytest.mark.parametrize("old, new, code, line, column", [
    ("input 0.000480   output 0.001440", "input 0.00048O   output 0.001440", "R001", 28, 32),  # a price
    ("128K < T <= 256K", "128K < T <= 265K", "R021", 25, 7),  # a bound
    ("input 0.001440   output 0.004320\n    }", "input 0.001440   output 0.004320\n", "R001", 34, 3),  # a brace
    ("=>  USD 0.000389", "=>  USD 0.000398", "R032", 41, 50),  # an example: at its amount
    ("input 0.000480   output 0.001440", "input 0.000840   output 0.001440", "R032", 41, 50),  # a price
])
def test_one_broken_thing_in_a_shipped_book(capsys, tmp_path, old, new, code, line, column):
    text = (rules_dir() / "emr-starrocks-ai-function.rules").read_text()
    assert old in text
    (tmp_path / "book.rules").write_text(text.replace(old, new, 1))
    exit_code, out, _ = run(capsys, "book.rules", cwd=tmp_path)
    assert exit_code == 1
    findings = [row for row in out.splitlines() if ": error[" in row]
    assert len(findings) == 1, out
    assert findings[0].startswith(f"book.rules:{line}:{column}: error[{code}]")
    assert "help: " in out


# --- fuzz: break a shipped book at random --------------------------------------------------------

BOOK_TEXT = (rules_dir() / "emr-starrocks-ai-function.rules").read_text()
edits = st.lists(st.tuples(st.sampled_from(["delete", "duplicate", "insert"]),
                           st.integers(0, len(BOOK_TEXT)), st.integers(1, 40),
                           st.text(alphabet="{}<=,#\"-.0123456789KMT abcxyz\n", min_size=1, max_size=6)),
                 min_size=1, max_size=3)


def mutate(text: str, changes) -> str:
    for kind, at, length, chars in changes:
        at = min(at, len(text))
        if kind == "delete":
            text = text[:at] + text[at + length:]
        elif kind == "duplicate":
            text = text[:at] + text[at:at + length] + text[at:]
        else:
            text = text[:at] + chars + text[at:]
    return text


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits)
def test_fuzzed_books_get_diagnostics_never_tracebacks(tmp_path, changes):
    text = mutate(BOOK_TEXT, changes)
    analysis = analyze_program(read_text_program(text, "fuzzed.rules", rules_dir()))
    if analysis.book is None:
        assert analysis.errors, "a book that does not compile must say why"
    for diagnostic in analysis.diagnostics:
        assert diagnostic.message and diagnostic.code.startswith("R")
    path = tmp_path / "fuzzed.rules"
    path.write_text(text)
    (tmp_path / "alibaba-regions.rules").write_text((rules_dir() / "alibaba-regions.rules").read_text())
    assert rulecheck([str(path)]) in (0, 1)


# --- the command itself never shows a traceback -----------------------------------------------------

def test_a_reader_that_stops_early_gets_no_traceback(tmp_path):
    import subprocess
    import sys
    command = f"'{sys.executable}' -m ratecard.cli.rulecheck '{CASES}' | head -1"
    done = subprocess.run(command, shell=True, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert done.stdout.count("\n") == 1
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_a_bug_is_reported_as_a_bug(capsys, monkeypatch, tmp_path):
    import ratecard.cli.rulecheck as command

    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr(command, "analyze_program", broken)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    code, _, err = run(capsys, "R020-tier-gap.rules")
    assert code == 70
    assert "internal error (this is a bug): RuntimeError: boom" in err
    assert list(tmp_path.glob("rulecheck-crash-*.txt"))
