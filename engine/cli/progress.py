"""How far `ratecard bill` has got, shown on a terminal: phase, percentage, records/s and an ETA.

Takes the `BillProgress` reports of `bill(on_progress=...)` (phases "reading"
and "billing") and the handle the bill is written through (phase "writing"),
and gives one tqdm bar per phase on stderr, cleared at the end:

    reading:  45%|████▌     | 45.0M/100M [00:08<00:10, 5.60MB/s, 1,234,567 records, 154,321 records/s]

Reading counts input bytes (no percentage on standard input, whose size is
unknown), billing counts the accounts whose lines are made, writing counts the bytes written
against an estimate made by writing a sample of the bill's lines.
`progress_display(stream)` gives `NoProgress` when `stream` is not a terminal:
then nothing is shown, nothing is counted, and tqdm is never imported.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from contextlib import contextmanager
from io import StringIO
from typing import Any, Callable, Iterator, TextIO

import attrs

from ..billing import Bill, BillProgress
from ..tables import PriceBook
from ..writers import write_bill

REFRESH_SECONDS = 0.2  # tqdm redraws at most this often
WRITING_TICK = 1 << 16  # characters written between two updates of the writing bar
SAMPLE_LINES = 64  # bill lines written to a scratch buffer to estimate the size of the whole
DEFAULT_SIZE = (100, 24)  # columns and rows, for a terminal that does not tell its size


def progress_display(stream: TextIO) -> NoProgress:
    """A `TerminalProgress` on `stream` when it is a terminal, else a `NoProgress` that does nothing."""
    return TerminalProgress(stream) if stream.isatty() else NoProgress()


class NoProgress:
    """No display: `on_bill` is None (so `bill` does not report) and `writing` gives the handle back."""

    on_bill = None

    @contextmanager
    def writing(self, handle: TextIO, bill: Bill, book: PriceBook, form: str) -> Iterator[TextIO]:
        """The handle to write `bill` through while the "writing" phase is shown (here: `handle` itself)."""
        yield handle

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        self.end(completed=exc_type is None)

    def end(self, completed: bool) -> None:
        """Clear the display; when `completed`, show the phase done (100%) first."""


class TerminalProgress(NoProgress):
    """A tqdm bar per phase on a terminal."""

    def __init__(self, stream: TextIO) -> None:
        from tqdm import tqdm  # only a terminal pays for it
        tqdm.monitor_interval = 0  # no monitor thread: the bill reports often enough
        self._tqdm = tqdm
        self._stream = stream
        self._bar: Any = None
        self._phase = ""
        self._started = 0.0

    def on_bill(self, report: BillProgress) -> None:
        """Show one report of `bill(on_progress=...)`."""
        if report.phase != self._phase:
            unit = "B" if report.phase == "reading" else " accounts"
            self._start(report.phase, report.total, unit)
        elapsed = time.monotonic() - self._started
        if report.phase == "reading":
            rate = report.records / elapsed if elapsed > 0 else 0.0
            self._bar.set_postfix_str(f"{report.records:,} records, {rate:,.0f} records/s", refresh=False)
        self._advance(report.done)

    @contextmanager
    def writing(self, handle: TextIO, bill: Bill, book: PriceBook, form: str) -> Iterator[TextIO]:
        """Show the "writing" phase while `bill` is written through the handle given.

        A regular file is watched from a thread (its size, every `REFRESH_SECONDS`),
        so the writes themselves cost nothing more: a big bill makes millions of
        them. Anything else (a pipe, a terminal) is counted through a wrapper.
        """
        self._start("writing", _estimated_size(bill, book, form), "B")
        if not _is_regular_file(handle):
            yield _CountingHandle(handle, self._advance)
        else:
            watcher = _SizeWatcher(handle.fileno(), self._advance)
            watcher.start()
            try:
                yield handle
            finally:
                watcher.stop()
        self.end(completed=True)

    def _start(self, phase: str, total: int | None, unit: str) -> None:
        self.end(completed=True)  # a new phase: the one before it is done
        self._phase, self._started = phase, time.monotonic()
        sized = _terminal_width(self._stream) > 0  # a terminal that never told its size: tqdm would show nothing
        self._bar = self._tqdm(total=total, desc=phase, unit=unit, unit_scale=True, file=self._stream,
                               leave=False, mininterval=REFRESH_SECONDS, miniters=1, dynamic_ncols=sized,
                               **({} if sized else {"ncols": DEFAULT_SIZE[0], "nrows": DEFAULT_SIZE[1]}))

    def _advance(self, done: int) -> None:
        bar = self._bar
        if bar.total is not None and done > bar.total:  # an estimate that fell short: never over 100%
            bar.total = done
        bar.update(done - bar.n)

    def end(self, completed: bool) -> None:
        bar = self._bar
        if bar is not None:
            if completed:
                if bar.total is not None:
                    bar.update(bar.total - bar.n)
                bar.refresh()
            bar.close()
            self._bar = None
            self._phase = ""


def _is_regular_file(handle: TextIO) -> bool:
    try:
        return stat.S_ISREG(os.fstat(handle.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is an OSError and a ValueError
        return False


class _SizeWatcher(threading.Thread):
    """Reports the size of an open file every `REFRESH_SECONDS` until stopped."""

    def __init__(self, descriptor: int, report: Callable[[int], None]) -> None:
        super().__init__(name="ratecard-progress", daemon=True)
        self._descriptor, self._report = descriptor, report
        self._stopped = threading.Event()

    def run(self) -> None:
        while not self._stopped.wait(REFRESH_SECONDS):
            self._report(os.fstat(self._descriptor).st_size)

    def stop(self) -> None:
        self._stopped.set()
        self.join()


def _terminal_width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        return 0


class _CountingHandle:
    """A text handle that reports the characters written through it every `WRITING_TICK` of them.

    For handles that are not regular files; it costs a Python call per write."""

    __slots__ = ("_handle", "_next", "_report", "_written")

    def __init__(self, handle: TextIO, report: Callable[[int], None]) -> None:
        self._handle, self._report = handle, report
        self._written, self._next = 0, WRITING_TICK

    def write(self, text: str) -> int:
        self._written += len(text)
        if self._written >= self._next:
            self._next = self._written + WRITING_TICK
            self._report(self._written)
        return self._handle.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)


def _estimated_size(bill: Bill, book: PriceBook, form: str) -> int:
    """The characters of the whole bill, from writing none of its lines and a sample of them."""
    sample = bill.lines[:SAMPLE_LINES]
    if not sample:
        return _written_size(bill, book, form)
    bare = _written_size(attrs.evolve(bill, lines=()), book, form)
    some = _written_size(attrs.evolve(bill, lines=sample), book, form)
    return bare + (some - bare) * len(bill.lines) // len(sample)


def _written_size(bill: Bill, book: PriceBook, form: str) -> int:
    out = StringIO()
    write_bill(bill, book, form, out)
    return len(out.getvalue())
