"""Where `ratecard bill` writes, checked before a record is read, and the writing itself.

Takes the command's `--out` and `--rejects` and the files it reads (usage
files, the rules file), and gives an `OutputPlan`: the bill's path (None for
standard output) and the rejects file's path, or a `UsageError` when they would
destroy an input, name one file twice, or replace something that is not a
regular file (a symbolic link, a FIFO, a device). `BillOutputs` then writes the
bill and its rejects as one unit through `ratecard.atomic.FileGroup`: both, or
neither, whatever stops the run.

Rules:
- `--out -` (or no `--out`) is standard output. Any other output that exists
  must be a regular file, and no output may be one of the files read.
- The default rejects path is `--out`'s whole name and `.rejects.csv`
  (`bill.json.rejects.csv`: each bill has its own, whatever its format), else
  `NAME.rejects.csv` next to the first usage file when it is a regular file,
  else in the current directory (`NAME` is `stdin` for `-`).
- A default rejects file in a directory that cannot be written does not stop
  a run that rejects nothing (a read-only usage directory, a bill to standard
  output); the first reject then fails, naming the file and `--rejects`.
- With `--rejects`, the rejects file is always written (a header alone when
  nothing is rejected). Without it, a run with no rejects removes the default
  rejects file an earlier run left, in the same commit as the bill.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Callable, Sequence, TextIO

import attrs

from ..atomic import FileGroup, WriteError
from ..errors import RatecardError
from ..records import Reject
from ..writers import reject_row, rejects_csv_header

STDIO = "-"


class UsageError(RatecardError):
    """The command was asked for something it cannot do (a missing file, an unknown currency, ...)."""

    code = "E010"


@attrs.frozen
class OutputPlan:
    bill: Path | None  # None: standard output
    rejects: Path
    rejects_always: bool  # named with --rejects: written even when nothing is rejected
    rejects_writable: bool = True  # False: a default rejects file whose directory cannot be written

    @property
    def files(self) -> list[Path]:
        rejects = self.rejects if self.rejects_writable else None
        return [path for path in (self.bill, rejects) if path is not None]


def plan_outputs(out: str | None, rejects: str | None, usage: Sequence[str], read: Sequence[str] = ()) -> OutputPlan:
    """Check the usage files and the outputs (see the module's rules); `read` lists other inputs to protect."""
    inputs = _check_usage(usage)
    bill = None if out in (None, STDIO) else Path(out)
    if bill is not None and (not bill.name or bill.is_dir()):
        raise UsageError(f"cannot write {out}: it is a directory", "name a file to write")
    if rejects == STDIO:
        raise UsageError("the rejects file cannot be standard output", "name a file with --rejects PATH")
    plan = OutputPlan(bill, Path(rejects) if rejects else _default_rejects(bill, usage), rejects is not None)
    protected = inputs + [(name, _identity(name)) for name in read if os.path.isfile(name)]
    rejects_named = "--rejects" if rejects else "the default rejects file"
    for named, path in (("--out", plan.bill), (rejects_named, plan.rejects)):
        if path is not None:
            _check_output(named, path, protected)
    if plan.bill is not None and _identity(plan.bill) == _identity(plan.rejects):
        raise UsageError(f"--out and --rejects both name {plan.bill}", "give the bill and its rejects two files")
    if not rejects and not os.access(plan.rejects.parent, os.W_OK):
        plan = attrs.evolve(plan, rejects_writable=False)
    return plan


def single_output(out: str | None, read: Sequence[str]) -> Path | None:
    """The `--out` of a command that writes one file: None for standard output, else a path that is none of
    the files in `read` and replaces nothing but a regular file (the rules of `plan_outputs`)."""
    if out in (None, STDIO):
        return None
    path = Path(out)
    if not path.name or path.is_dir():
        raise UsageError(f"cannot write {out}: it is a directory", "name a file to write")
    _check_output("--out", path, [(name, _identity(name)) for name in read if os.path.isfile(name)])
    return path


def _check_usage(usage: Sequence[str]) -> list[tuple[str, object]]:
    """Every usage file exists and is named once; gives each with its identity."""
    seen: list[tuple[str, object]] = []
    for name in usage:
        if name != STDIO and not os.path.exists(name):
            raise UsageError(f"no such usage file: {name}", "pass CSV (.csv) or JSON Lines (.jsonl) files, or -")
        if os.path.isdir(name):
            raise UsageError(f"{name} is a directory, not a usage file", "pass the files in it")
        identity = _identity(name)
        for earlier, other in seen:
            if other == identity:
                what = f"{name} is named twice" if name == earlier else f"{name} and {earlier} are the same file"
                raise UsageError(what, "name each usage file once: its records would be billed twice")
        seen.append((name, identity))
    return seen


def _check_output(named: str, path: Path, protected: list[tuple[str, object]]) -> None:
    """`path` can be replaced by a regular file without harm: `named` says how the user named it."""
    if not path.parent.is_dir():
        raise UsageError(f"cannot write {path}: no such directory", "create the directory first")
    identity = _identity(path)
    for name, other in protected:
        if other == identity:
            raise UsageError(f"{named} {path} is {name}, a file this run reads",
                             "write the output to another file: this one would be replaced")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UsageError(f"{named} {path} is a symbolic link; ratecard replaces only regular files",
                         "name the file it points to, or use --out - and redirect standard output")
    if stat.S_ISDIR(info.st_mode):
        raise UsageError(f"cannot write {path}: it is a directory", "name a file to write")
    if not stat.S_ISREG(info.st_mode):
        raise UsageError(f"{named} {path} is not a regular file (a {_kind(info.st_mode)})",
                         "use --out - to write to standard output, and redirect it")


def _identity(name: str | Path) -> object:
    """What makes two names one file: the device and inode when it exists (through links), else the real path."""
    if str(name) == STDIO:
        return STDIO
    try:
        info = os.stat(name)
    except OSError:
        return os.path.normcase(os.path.realpath(name))
    return info.st_dev, info.st_ino


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "special file"


def _default_rejects(bill: Path | None, usage: Sequence[str]) -> Path:
    if bill is not None:
        return bill.with_name(bill.name + ".rejects.csv")
    first = usage[0]
    if first != STDIO and os.path.isfile(first):
        return Path(first).with_name(Path(first).stem + ".rejects.csv")
    return Path((Path(first).stem if first != STDIO else "stdin") + ".rejects.csv")


class BillOutputs:
    """The bill and its rejects file of one run, committed together or not at all."""

    def __init__(self, plan: OutputPlan, on_wait: Callable[[Path], None] | None = None) -> None:
        self.plan = plan
        self.rejected = 0
        self._group = FileGroup(plan.files, on_wait)
        self._rejects: TextIO | None = None

    def __enter__(self) -> BillOutputs:
        try:
            self._group.__enter__()
        except WriteError as error:
            if error.path == str(self.plan.rejects) and not self.plan.rejects_always:
                error.hint = "that is where rejects go by default; name another file with --rejects PATH"
            raise
        return self

    def __exit__(self, *exc_info) -> None:
        self._group.__exit__(*exc_info)

    def add_reject(self, reject: Reject) -> None:
        """Stream one rejected record to the rejects file's temporary (opened at the first)."""
        try:
            self._rejects_handle().write(reject_row(reject))
        except OSError as error:
            raise WriteError.of(self.plan.rejects, error) from error
        self.rejected += 1

    def _rejects_handle(self) -> TextIO:
        if not self.plan.rejects_writable:
            raise WriteError(self.plan.rejects, "its directory cannot be written",
                             "that is where rejects go by default; name another file with --rejects PATH")
        if self._rejects is None:
            self._rejects = self._group.open(self.plan.rejects)
            self._rejects.write(rejects_csv_header())
        return self._rejects

    def write_bill(self, write: Callable[[TextIO], None]) -> None:
        """Write the bill with `write(handle)`: to the bill's temporary, or to standard output."""
        if self.plan.bill is None:
            try:
                write(sys.stdout)
                sys.stdout.flush()
            except OSError as error:
                raise WriteError.of("standard output", error) from error
            return
        with self._group.writing(self.plan.bill) as handle:
            write(handle)

    def commit(self) -> None:
        """Put the bill and the rejects in place together; without rejects, drop a stale default rejects file."""
        if self.rejected == 0:
            if self.plan.rejects_always:
                with self._group.writing(self.plan.rejects):
                    self._rejects_handle()
            elif self.plan.rejects_writable:
                self._group.remove(self.plan.rejects)
        self._group.commit()

    @property
    def rejects_written(self) -> bool:
        return self.rejected > 0 or self.plan.rejects_always
