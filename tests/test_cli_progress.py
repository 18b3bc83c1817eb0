"""The progress display of `ratecard bill`: on a terminal, every phase moves to 100%; elsewhere, silence."""

from __future__ import annotations

import csv
import fcntl
import io
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

import ratecard.writers
from test_cli_bill_outputs import usage_text

BOOK = "emr-starrocks-ai-function"


def run_on_a_terminal(args: list[str], cwd: Path, columns: int = 0) -> tuple[int, str]:
    """Run `ratecard` with stderr on a pseudo-terminal; give its exit status and what the terminal showed.

    `columns` 0 leaves the terminal's size unset, as some terminals (and CI runners) do."""
    controller, terminal = pty.openpty()
    if columns:
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    child = subprocess.Popen([sys.executable, "-m", "ratecard.cli.ratecard", *args], cwd=cwd,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    shown = bytearray()
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)
    return child.wait(), shown.decode("utf-8", "replace")


@pytest.mark.parametrize("out, columns", [("bill.json", 0), ("-", 132)], ids=["to a file", "to stdout"])
def test_every_phase_shows_on_a_terminal_and_reaches_100_percent(tmp_path, out, columns):
    (tmp_path / "u.csv").write_text(usage_text(40_000, seed=4, bad_every=50, accounts=300))
    status, shown = run_on_a_terminal(["bill", BOOK, "u.csv", "--out", out, "--format", "json"], tmp_path, columns)
    assert status == 1, shown
    for phase in ("reading", "billing", "writing"):
        percents = [int(p) for p in re.findall(rf"{phase}:\s+(\d+)%", shown)]
        assert percents and percents[-1] == 100, (phase, percents)
    assert re.search(r"[\d,]+ records, [\d,]+ records/s", shown)
    assert re.search(r"reading:.*<\d\d:\d\d", shown)  # an ETA
    assert "ratecard: 40,000 records read = 39,200 billed + 800 rejected" in shown


def test_silent_when_stderr_is_not_a_terminal(tmp_path):
    (tmp_path / "u.csv").write_text(usage_text(3_000, seed=4))
    result = subprocess.run([sys.executable, "-m", "ratecard.cli.ratecard", "bill", BOOK, "u.csv", "--out", "b.json"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == "ratecard: 3,000 records read = 3,000 billed + 0 rejected\n"


def test_quoting_and_importing_never_load_the_progress_library():
    code = ("import sys, ratecard, ratecard.cli.ratecard as cli\n"
            "cli.main(['quote', 'emr-starrocks-ai-function', '--region', 'us-east-1', '--model', 'qwen-plus'])\n"
            "assert 'tqdm' not in sys.modules, 'tqdm was imported'\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_display_moves_with_every_report(monkeypatch, starrocks):
    """Each report of `bill` and each stretch of writing redraws the bar (throttling off), phase after phase."""
    from ratecard.billing import BillProgress
    from ratecard.cli import progress
    monkeypatch.setattr(progress, "REFRESH_SECONDS", 0)
    monkeypatch.setattr(progress, "WRITING_TICK", 1_000)
    bill = starrocks.bill(list(csv.DictReader(usage_text(300, seed=5, accounts=40).splitlines())))
    terminal = FakeTerminal()
    with progress.progress_display(terminal) as display:
        for done in range(0, 1001, 100):
            display.on_bill(BillProgress("reading", done * 3, done * 1_000, 1_000_000))
        for done in range(0, 51, 5):
            display.on_bill(BillProgress("billing", 3000, done, 50))
        with display.writing(io.StringIO(), bill, starrocks, "json") as handle:
            ratecard.writers.write_bill(bill, starrocks, "json", handle)
    shown = terminal.getvalue()
    for phase, least in (("reading", 11), ("billing", 11), ("writing", 10)):
        percents = [int(p) for p in re.findall(rf"{phase}:\s+(\d+)%", shown)]
        assert percents == sorted(percents) and len(set(percents)) >= least and percents[-1] == 100, (phase, percents)
    assert "3,000 records" in shown
