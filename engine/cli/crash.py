"""What a command does when it meets a bug: a short message, a saved traceback, exit status 70.

Takes the program's name and the unexpected exception, and gives the exit
status `EX_SOFTWARE` (70, as in BSD's sysexits.h) after telling the user on
stderr that this is a bug and where the full traceback was written (a
`PROGRAM-crash-*.txt` file in the temporary directory; on stderr itself when
no file can be written). Status 70 keeps a bug apart from the statuses that
mean something about the input (1: some records or the request could not be
priced; 2: a usage error).
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback

EX_SOFTWARE = 70


def report_crash(program: str, error: BaseException) -> int:
    """Tell the user that `error` is a bug and where its traceback is; give the exit status."""
    said = f"{error}".encode("utf-8", "backslashreplace").decode("utf-8")  # a lone surrogate must not crash this
    print(f"{program}: internal error (this is a bug): {type(error).__name__}: {said}", file=sys.stderr)
    text = "".join(traceback.format_exception(error)).encode("utf-8", "backslashreplace").decode("utf-8")
    try:
        descriptor, path = tempfile.mkstemp(prefix=f"{program}-crash-", suffix=".txt")
        with os.fdopen(descriptor, "w", encoding="utf-8") as report:
            report.write(text)
    except OSError:
        sys.stderr.write(text)
    else:
        print(f"  the full traceback is in {path}", file=sys.stderr)
    print("  help: please report it with that traceback and the command that gave it", file=sys.stderr)
    return EX_SOFTWARE
