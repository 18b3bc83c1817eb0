"""`ratecard bill` outputs: nothing read is ever overwritten, and a bill and its rejects change together."""

from __future__ import annotations

import errno
import itertools
import os
import random
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ratecard.cli import ratecard as cli
from ratecard.cli.ratecard import main as ratecard_main

BOOK = "emr-starrocks-ai-function"
HEADER = "timestamp,account,region,model,input_tokens,output_tokens,requests,request_id\n"


def usage_text(rows: int, seed: int, bad_every: int = 0, accounts: int = 7) -> str:
    """Generated usage: `rows` records of `accounts` accounts, every `bad_every`-th one in a region no book knows."""
    rng = random.Random(seed)
    lines = [HEADER]
    for i in range(rows):
        region = "mars-north-1" if bad_every and i % bad_every == 0 else rng.choice(("us-east-1", "cn-hangzhou"))
        lines.append(f"2026-05-01T{rng.randrange(24):02d}:{rng.randrange(60):02d}:00+08:00,acct-{rng.randrange(accounts)},"
                     f"{region},qwen-plus,{rng.randrange(1, 5000)},{rng.randrange(500)},1,s{seed}-{i}\n")
    return "".join(lines)


def write_usage(path: Path, rows: int = 40, seed: int = 1, bad_every: int = 0) -> Path:
    path.write_text(usage_text(rows, seed, bad_every))
    return path


def bill(*args: str | Path) -> int:
    return ratecard_main(["bill", BOOK, *map(str, args)])


def listing(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


# --- finding 1: an output never replaces an input ------------------------------------------------------

@pytest.mark.parametrize("how", ["same path", "another spelling", "hard link", "symlink to the usage",
                                 "usage is a symlink to it"])
@pytest.mark.parametrize("option", ["--out", "--rejects"])
def test_an_output_naming_a_usage_file_is_a_usage_error(tmp_path, capsys, how, option):
    usage = write_usage(tmp_path / "u.csv")
    named, billed = usage, usage
    if how == "another spelling":
        (tmp_path / "sub").mkdir()
        named = tmp_path / "sub" / ".." / "u.csv"
    elif how == "hard link":
        named = tmp_path / "hard.csv"
        os.link(usage, named)
    elif how == "symlink to the usage":
        named = tmp_path / "link.csv"
        named.symlink_to(usage)
    elif how == "usage is a symlink to it":
        billed = tmp_path / "link.csv"
        billed.symlink_to(usage)
    before, files = usage.read_text(), listing(tmp_path)
    assert bill(billed, option, named) == 2
    err = capsys.readouterr().err
    assert "a file this run reads" in err and "Traceback" not in err
    assert usage.read_text() == before and listing(tmp_path) == files


def test_the_default_rejects_file_naming_a_usage_file_is_a_usage_error(tmp_path, capsys):
    usage = write_usage(tmp_path / "u.csv", bad_every=5)
    old_rejects = write_usage(tmp_path / "u.rejects.csv", seed=2)  # billed again, beside the first file
    before = old_rejects.read_text()
    assert bill(usage, old_rejects) == 2
    assert "the default rejects file" in capsys.readouterr().err
    assert old_rejects.read_text() == before


def test_the_out_naming_the_rules_file_is_a_usage_error(tmp_path, capsys):
    rules = tmp_path / "book.rules"
    rules.write_text((Path(__file__).parents[1] / "rules" / f"{BOOK}.rules").read_text())
    before = rules.read_text()
    assert ratecard_main(["bill", str(rules), str(write_usage(tmp_path / "u.csv")), "--out", str(rules)]) == 2
    assert "a file this run reads" in capsys.readouterr().err
    assert rules.read_text() == before


def test_out_and_rejects_naming_one_file_is_a_usage_error(tmp_path, capsys):
    usage = write_usage(tmp_path / "u.csv")
    (tmp_path / "sub").mkdir()
    assert bill(usage, "--out", tmp_path / "x.csv", "--rejects", tmp_path / "sub" / ".." / "x.csv") == 2
    assert "--out and --rejects both name" in capsys.readouterr().err
    assert listing(tmp_path) == ["sub", "u.csv"]


@pytest.mark.parametrize("how", ["twice", "hard link", "symlink"])
def test_one_usage_file_named_twice_is_a_usage_error(tmp_path, capsys, how):
    usage = write_usage(tmp_path / "u.csv")
    other = usage
    if how == "hard link":
        other = tmp_path / "h.csv"
        os.link(usage, other)
    elif how == "symlink":
        other = tmp_path / "s.csv"
        other.symlink_to(usage)
    assert bill(usage, other, "--out", tmp_path / "bill.json") == 2
    assert "billed twice" in capsys.readouterr().err
    assert not (tmp_path / "bill.json").exists()


def test_standard_input_named_twice_is_a_usage_error(capsys):
    assert bill("-", "-") == 2
    assert "- is named twice" in capsys.readouterr().err


# --- finding 2: an output that is not a regular file is never replaced --------------------------------

def test_an_out_that_is_a_symlink_is_a_usage_error(tmp_path, capsys):
    usage = write_usage(tmp_path / "u.csv")
    target = tmp_path / "elsewhere.json"
    target.write_text("keep")
    (tmp_path / "bill.json").symlink_to(target)
    assert bill(usage, "--out", tmp_path / "bill.json") == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert (tmp_path / "bill.json").is_symlink() and target.read_text() == "keep"
    assert listing(tmp_path) == ["bill.json", "elsewhere.json", "u.csv"]


def test_a_default_rejects_path_that_is_a_symlink_is_a_usage_error(tmp_path, capsys):
    usage = write_usage(tmp_path / "u.csv", bad_every=3)
    (tmp_path / "bill.json.rejects.csv").symlink_to(usage)
    assert bill(usage, "--out", tmp_path / "bill.json") == 2
    assert not (tmp_path / "bill.json").exists()


def test_an_out_that_is_a_fifo_is_a_usage_error_and_is_not_opened(tmp_path, capsys):
    usage = write_usage(tmp_path / "u.csv", bad_every=3)
    os.mkfifo(tmp_path / "pipe")
    assert bill(usage, "--out", tmp_path / "pipe") == 2  # a FIFO opened for writing would block: it is not opened
    assert "is not a regular file (a FIFO)" in capsys.readouterr().err
    assert listing(tmp_path) == ["pipe", "u.csv"]


def test_an_out_that_is_a_device_is_a_usage_error(tmp_path, capsys):
    # A device node of our own (/dev/null's numbers): code that replaces it harms nothing outside the test.
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError as error:
        pytest.skip(f"cannot make a device node here: {error}")
    usage = write_usage(tmp_path / "u.csv", bad_every=3)
    assert bill(usage, "--out", device) == 2
    assert "is not a regular file (a device)" in capsys.readouterr().err
    assert stat.S_ISCHR(os.lstat(device).st_mode) and listing(tmp_path) == ["null", "u.csv"]


def test_out_dash_writes_the_bill_to_stdout(tmp_path, capsys):
    usage = write_usage(tmp_path / "u.csv", bad_every=4)
    assert bill(usage, "--out", "-", "--format", "csv") == 1
    assert capsys.readouterr().out.startswith("cycle_start,")
    assert listing(tmp_path) == ["u.csv", "u.rejects.csv"]


def test_usage_from_a_fifo_puts_the_default_rejects_in_the_current_directory(tmp_path, capsys, monkeypatch):
    pipes, work = tmp_path / "pipes", tmp_path / "work"
    pipes.mkdir()
    work.mkdir()
    monkeypatch.chdir(work)
    os.mkfifo(pipes / "usage")
    feeder = threading.Thread(target=(pipes / "usage").write_text, args=(usage_text(30, 3, bad_every=4),))
    feeder.start()
    try:
        assert bill(pipes / "usage", "--input-format", "csv", "--format", "csv") == 1
    finally:
        feeder.join(timeout=5)
        if feeder.is_alive():  # the run never opened the FIFO: read it here, so the feeder can finish
            with open(pipes / "usage") as rest:
                rest.read()
        feeder.join()
    assert listing(pipes) == ["usage"]
    assert listing(work) == ["usage.rejects.csv"]


# --- finding 3: the bill and its rejects are one unit -----------------------------------------------

def test_a_rerun_without_rejects_removes_the_earlier_rejects(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    assert bill(write_usage(tmp_path / "bad.csv", bad_every=3), "--out", out / "bill.json") == 1
    assert listing(out) == ["bill.json", "bill.json.rejects.csv"]
    assert bill(write_usage(tmp_path / "good.csv"), "--out", out / "bill.json") == 0
    assert listing(out) == ["bill.json"]


def test_a_run_leaves_nothing_but_the_pair(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / ".bill.json.ratecard-tmp").write_text("a killed run's half bill")
    (out / ".bill.json.rejects.csv.ratecard-tmp").write_text("a killed run's half rejects")
    assert bill(write_usage(tmp_path / "u.csv", bad_every=3), "--out", out / "bill.json") == 1
    assert listing(out) == ["bill.json", "bill.json.rejects.csv"]


def test_rejects_in_another_directory_commit_with_the_bill(tmp_path):
    bills, rejects = tmp_path / "bills", tmp_path / "rejects"
    bills.mkdir()
    rejects.mkdir()
    usage = write_usage(tmp_path / "u.csv", bad_every=3)
    assert bill(usage, "--out", bills / "b.json", "--rejects", rejects / "r.csv") == 1
    assert listing(bills) == ["b.json"] and listing(rejects) == ["r.csv"]
    assert bill(write_usage(tmp_path / "g.csv"), "--out", bills / "b.json", "--rejects", rejects / "r.csv") == 0
    assert (rejects / "r.csv").read_text().count("\n") == 1  # named with --rejects: written, a header alone


def _pair(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(directory.iterdir())}


def _expected_pair(tmp_path: Path, name: str, usage: Path) -> dict[str, str]:
    directory = tmp_path / name
    directory.mkdir()
    bill(usage, "--out", directory / "bill.json", "--format", "json")
    return _pair(directory)


def _recover(out: Path) -> None:
    """What the next `ratecard bill` writing this output does first."""
    from ratecard.atomic import FileGroup
    with FileGroup([out / "bill.json", out / "bill.json.rejects.csv"]):
        pass


KILLED = 137


def _run_killed_at_step(step: int, argv: list[str]) -> int:
    """Run the command in a forked child that dies at its `step`-th file-system change; give its exit status."""
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, 1)
            os.dup2(devnull, 2)
            calls = itertools.count(1)

            def dying(original):
                def call(*args, **kwargs):
                    if next(calls) == step:
                        os._exit(KILLED)
                    return original(*args, **kwargs)
                return call
            for name in ("replace", "rename", "unlink", "fsync"):
                setattr(os, name, dying(getattr(os, name)))
            os._exit(ratecard_main(argv))
        except BaseException:
            os._exit(99)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


@pytest.mark.parametrize("new_rejects", [True, False], ids=["new run has rejects", "new run has none"])
def test_a_run_killed_at_any_step_leaves_the_old_pair_or_the_new_one(tmp_path, new_rejects):
    old_usage = write_usage(tmp_path / "old.csv", rows=60, seed=1, bad_every=4)
    new_usage = write_usage(tmp_path / "new.csv", rows=60, seed=2, bad_every=5 if new_rejects else 0)
    old, new = _expected_pair(tmp_path, "old", old_usage), _expected_pair(tmp_path, "new", new_usage)
    assert old.keys() == {"bill.json", "bill.json.rejects.csv"} and old != new
    out = tmp_path / "out"
    seen = set()
    for step in itertools.count(1):
        out.mkdir()
        bill(old_usage, "--out", out / "bill.json", "--format", "json")
        status = _run_killed_at_step(step, ["bill", BOOK, str(new_usage), "--out", str(out / "bill.json"),
                                            "--format", "json"])
        _recover(out)
        state = _pair(out)
        assert state in (old, new), f"killed at step {step}: {sorted(state)}"
        seen.add("new" if state == new else "old")
        for path in out.iterdir():
            path.unlink()
        out.rmdir()
        if status != KILLED:
            break
    assert seen == {"old", "new"} and step > 5


@pytest.mark.parametrize("recovered_by", ["the pair", "the rejects file alone"])
def test_a_pair_in_two_directories_killed_at_any_step_is_old_or_new(tmp_path, recovered_by):
    old_usage = write_usage(tmp_path / "old.csv", rows=60, seed=1, bad_every=4)
    new_usage = write_usage(tmp_path / "new.csv", rows=60, seed=2, bad_every=5)
    bills, rejects = tmp_path / "bills", tmp_path / "rejects"
    command = ["--out", str(bills / "b.json"), "--rejects", str(rejects / "r.csv")]
    states = []
    for usage in (old_usage, new_usage):
        bills.mkdir()
        rejects.mkdir()
        bill(usage, *command)
        states.append((_pair(bills), _pair(rejects)))
        for directory in (bills, rejects):
            for path in directory.iterdir():
                path.unlink()
            directory.rmdir()
    seen = set()
    for step in itertools.count(1):
        bills.mkdir()
        rejects.mkdir()
        bill(old_usage, *command)
        status = _run_killed_at_step(step, ["bill", BOOK, str(new_usage), *command])
        from ratecard.atomic import FileGroup
        if recovered_by == "the rejects file alone":  # a run that writes only r.csv: it must finish a journal
            with FileGroup([rejects / "r.csv"]):      # that spans b.json too; b.json's leftovers are not its own
                pass
            visible = tuple({k: v for k, v in _pair(d).items() if not k.startswith(".")} for d in (bills, rejects))
            assert visible in states, f"killed at step {step}: {sorted(visible[0])}, {sorted(visible[1])}"
        with FileGroup([bills / "b.json", rejects / "r.csv"]):
            pass
        state = (_pair(bills), _pair(rejects))
        assert state in states, f"killed at step {step}: {sorted(state[0])}, {sorted(state[1])}"
        seen.add(states.index(state))
        for directory in (bills, rejects):
            for path in directory.iterdir():
                path.unlink()
            directory.rmdir()
        if status != KILLED:
            break
    assert seen == {0, 1} and step > 5


def _kill_9_at_random_moments(tmp_path: Path, rows: int, accounts: int, kills: int) -> set[str]:
    """Real processes killed with SIGKILL at random moments of a long bill, each followed by the next run's
    recovery: the output directory holds the old pair or the new pair, and nothing else."""
    old_usage = write_usage(tmp_path / "old.csv", rows=2_000, seed=1, bad_every=7)
    new_usage = tmp_path / "new.csv"
    new_usage.write_text(usage_text(rows, seed=2, bad_every=11, accounts=accounts))
    old = _expected_pair(tmp_path, "old", old_usage)
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, "-m", "ratecard.cli.ratecard", "bill", BOOK, str(new_usage),
               "--out", str(out / "bill.json"), "--format", "json"]
    start = time.monotonic()
    assert subprocess.run(command, capture_output=True).returncode == 1
    duration, new = time.monotonic() - start, _pair(out)
    rng, seen = random.Random(rows), set()
    for attempt in range(kills):
        bill(old_usage, "--out", out / "bill.json", "--format", "json")
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 1.05) * duration)
        child.send_signal(signal.SIGKILL)
        child.wait()
        _recover(out)
        state = _pair(out)
        assert state in (old, new), f"attempt {attempt}: {sorted(state)}"
        seen.add("new" if state == new else "old")
    return seen


def test_a_run_killed_with_sigkill_leaves_one_whole_pair(tmp_path):
    _kill_9_at_random_moments(tmp_path, rows=20_000, accounts=500, kills=6)


def test_a_second_run_waits_for_the_first(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    usage = write_usage(tmp_path / "u.csv", rows=50)
    command = [sys.executable, "-m", "ratecard.cli.ratecard", "bill", BOOK, str(usage), "--out",
               str(out / "bill.json")]
    from ratecard.atomic import FileGroup
    with FileGroup([out / "bill.json"]):  # stands for a run that is still writing
        second = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
        said = second.stderr.readline()
        assert "ratecard: waiting for another ratecard bill writing in" in said
        time.sleep(0.3)
        assert second.poll() is None and not (out / "bill.json").exists()
    assert second.wait(timeout=30) == 0
    assert listing(out) == ["bill.json"]


# --- finding 4: a failed write names the user's path, and leaves the old pair ------------------------

def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_disk_full_while_writing_names_the_bill_and_keeps_the_old_pair(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    assert bill(write_usage(tmp_path / "u.csv", bad_every=3), "--out", out / "bill.json") == 1
    old = _pair(out)
    monkeypatch.setattr(cli, "write_bill", _no_space)
    assert bill(write_usage(tmp_path / "v.csv", seed=5), "--out", out / "bill.json") == 2
    err = capsys.readouterr().err
    assert f"cannot write {out / 'bill.json'}: No space left on device" in err
    assert "ratecard-tmp" not in err and "None" not in err
    assert _pair(out) == old


def test_disk_full_at_sync_names_the_bill_and_leaves_no_temporary(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(os, "fsync", _no_space)
    assert bill(write_usage(tmp_path / "u.csv"), "--out", out / "bill.json") == 2
    assert f"cannot write {out / 'bill.json'}: No space left on device" in capsys.readouterr().err
    assert listing(out) == []


def test_a_failing_rejects_file_names_the_rejects_file(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    monkeypatch.setattr(cli, "write_bill", lambda *args: None)
    monkeypatch.setattr("ratecard.cli.outputs.reject_row", _no_space)
    assert bill(write_usage(tmp_path / "u.csv", bad_every=3), "--out", out / "bill.json") == 2
    assert f"cannot write {out / 'bill.json.rejects.csv'}: No space left on device" in capsys.readouterr().err
    assert listing(out) == []


# --- finding 5: usage from standard input ------------------------------------------------------------

def _bill_process(args: list[str], cwd: Path, stdin: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ratecard.cli.ratecard", "bill", BOOK, *args], cwd=cwd,
                          input=stdin, capture_output=True, text=True)


def _as_json_lines(csv_text: str) -> str:
    import csv
    import json
    return "".join(json.dumps(row) + "\n" for row in csv.DictReader(csv_text.splitlines()))


@pytest.mark.parametrize("form, options", [
    ("csv", []), ("jsonl", []), ("csv", ["--input-format", "csv"]), ("jsonl", ["--input-format", "jsonl"]),
])
def test_usage_from_standard_input_bills_like_the_file(tmp_path, form, options):
    text = usage_text(200, seed=9, bad_every=9)
    (tmp_path / "u.csv").write_text(text)
    from_file = _bill_process(["u.csv", "--format", "json", "--rejects", "file-rejects.csv"], tmp_path, "")
    piped = _bill_process(["-", *options, "--format", "json"], tmp_path,
                          text if form == "csv" else "\n" + _as_json_lines(text))
    assert (from_file.returncode, piped.returncode) == (1, 1), piped.stderr
    assert piped.stdout == from_file.stdout
    assert "rejects in stdin.rejects.csv" in piped.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file-rejects.csv", "stdin.rejects.csv", "u.csv"]
    assert (tmp_path / "stdin.rejects.csv").read_text().count("<stdin>") == 23


def test_an_unknown_input_format_is_a_usage_error(tmp_path):
    result = _bill_process(["-", "--input-format", "xml"], tmp_path, "")
    assert result.returncode == 2 and "invalid choice: 'xml'" in result.stderr


def test_a_default_rejects_directory_that_cannot_be_written_is_said_before_reading(tmp_path, capsys, monkeypatch):
    archive = tmp_path / "archive"
    archive.mkdir()
    usage = write_usage(archive / "u.csv")
    real_open = os.open

    def read_only_archive(path, flags, *args, **kwargs):  # as a read-only directory answers, even to root
        if Path(path).parent == archive and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, "open", read_only_archive)
    assert bill(usage) == 2
    err = capsys.readouterr().err
    assert f"cannot write {archive / 'u.rejects.csv'}: Permission denied" in err and "--rejects PATH" in err
    assert listing(archive) == ["u.csv"]


# --- found in review: an included rules file, one name in two formats, a directory name, a read-only home ---

def test_the_out_naming_an_included_rules_file_is_a_usage_error(tmp_path, capsys):
    from ratecard.resources import rules_dir
    for name in ("emr-starrocks-ai-function.rules", "alibaba-regions.rules"):
        (tmp_path / name).write_bytes((rules_dir() / name).read_bytes())
    before = (tmp_path / "alibaba-regions.rules").read_bytes()
    usage = write_usage(tmp_path / "u.csv")
    book = tmp_path / "emr-starrocks-ai-function.rules"
    assert ratecard_main(["bill", str(book), str(usage), "--out", str(tmp_path / "alibaba-regions.rules")]) == 2
    assert "a file this run reads" in capsys.readouterr().err
    assert (tmp_path / "alibaba-regions.rules").read_bytes() == before


def test_two_bills_of_one_name_in_two_formats_keep_their_own_rejects(tmp_path, capsys):
    with_rejects, clean = write_usage(tmp_path / "u.csv", bad_every=3), write_usage(tmp_path / "v.csv", seed=4)
    assert bill(with_rejects, "--out", tmp_path / "b.json", "--format", "json") == 1
    rejects = (tmp_path / "b.json.rejects.csv").read_text()
    assert bill(clean, "--out", tmp_path / "b.csv", "--format", "csv") == 0
    assert (tmp_path / "b.json.rejects.csv").read_text() == rejects  # the json bill's rejects are still its own
    assert listing(tmp_path) == ["b.csv", "b.json", "b.json.rejects.csv", "u.csv", "v.csv"]


@pytest.mark.parametrize("out", [".", "/", ""])
def test_an_out_that_names_a_directory_is_a_usage_error(tmp_path, capsys, monkeypatch, out):
    monkeypatch.chdir(tmp_path)
    usage = write_usage(tmp_path / "u.csv")
    assert bill(usage, "--out", out) == 2
    err = capsys.readouterr().err
    assert "it is a directory" in err and "internal error" not in err


def test_a_clean_bill_needs_no_writable_directory_for_its_default_rejects(tmp_path, capsys, monkeypatch):
    from ratecard.cli import outputs
    archive = tmp_path / "archive"
    archive.mkdir()
    clean, dirty = write_usage(archive / "u.csv"), write_usage(archive / "d.csv", bad_every=3)
    real_access = os.access
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False if Path(path) == archive
                        else real_access(path, mode))  # a read-only directory (root passes plain permissions)
    assert bill(clean) == 0
    assert "40 records read = 40 billed + 0 rejected" in capsys.readouterr().err
    assert bill(dirty) == 2
    err = capsys.readouterr().err
    assert f"cannot write {archive / 'd.rejects.csv'}: its directory cannot be written" in err and "--rejects" in err
    assert listing(archive) == ["d.csv", "u.csv"]
