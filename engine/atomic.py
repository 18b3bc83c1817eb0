"""Files that appear whole or not at all.

Takes a destination path and the text (or bytes) to put there, and gives a
file that readers see either as it was or as the whole new content, never
half written: the content goes to a temporary file beside the destination,
is flushed to disk, and is renamed into place. Errors name the destination,
never the temporary. Used by the bill writers, the rejects file and the
compiled-book cache.
"""

from __future__ import annotations

import os
from pathlib import Path


class AtomicFile:
    """A file written beside `path` under a temporary name and renamed into place by `commit`."""

    def __init__(self, path: str | Path, binary: bool = False) -> None:
        self.path = Path(path)
        self.temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{id(self):x}.tmp")
        mode = "xb" if binary else "x"
        self.handle = open(self.temporary, mode) if binary else open(self.temporary, mode, encoding="utf-8",
                                                                     newline="")

    def write(self, data) -> None:
        self.handle.write(data)

    def commit(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        os.replace(self.temporary, self.path)

    def discard(self) -> None:
        try:
            self.handle.close()
        finally:
            self.temporary.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Put `data` at `path` through an `AtomicFile`; nothing is left behind if it fails."""
    out = AtomicFile(path, binary=isinstance(data, bytes))
    try:
        out.write(data)
        out.commit()
    except BaseException:
        out.discard()
        raise
