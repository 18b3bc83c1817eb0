"""How `ratecard` fails: a bug is an internal error with its own exit status and a saved traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest

from ratecard.cli import ratecard as cli
from ratecard.cli.ratecard import main as ratecard_main

QUOTE = ["quote", "emr-starrocks-ai-function", "--region", "us-east-1", "--model", "qwen-plus", "--input", "750"]


@pytest.fixture
def crash_dir(tmp_path, monkeypatch) -> Path:
    """Crash reports go to a directory of the test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _boom(*args, **kwargs):
    raise ZeroDivisionError("the engine divided by zero")


def test_an_internal_error_exits_70_and_saves_the_traceback(crash_dir, monkeypatch, capsys):
    monkeypatch.setattr(cli, "load", _boom)
    assert ratecard_main(QUOTE) == 70  # EX_SOFTWARE
    err = capsys.readouterr().err
    assert "ratecard: internal error (this is a bug): ZeroDivisionError: the engine divided by zero" in err
    assert "Traceback" not in err
    saved = Path(re.search(r"traceback is in (\S+)", err).group(1))
    assert saved.parent == crash_dir and saved.name.startswith("ratecard-crash-") and saved.suffix == ".txt"
    report = saved.read_text()
    assert "Traceback (most recent call last)" in report and "_boom" in report
    assert "ZeroDivisionError: the engine divided by zero" in report


def test_an_internal_error_while_billing_exits_70_too(crash_dir, monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(cli, "read_usage", _boom)
    usage = Path(__file__).parents[1] / "examples" / "usage.csv"
    code = ratecard_main(["bill", "emr-starrocks-ai-function", str(usage), "--out", str(tmp_path / "bill.json")])
    assert code == 70
    assert "internal error (this is a bug): ZeroDivisionError" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ratecard-crash-")) == []


def test_the_crash_report_falls_back_to_stderr_when_no_file_can_be_written(monkeypatch, capsys):
    from ratecard.cli import crash
    monkeypatch.setattr(tempfile, "tempdir", "/nonexistent/ratecard-test")
    try:
        raise KeyError("lost")
    except KeyError as error:
        assert crash.report_crash("rulecheck", error) == 70
    err = capsys.readouterr().err
    assert "rulecheck: internal error (this is a bug): KeyError: 'lost'" in err
    assert "Traceback (most recent call last)" in err
