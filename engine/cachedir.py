"""Where ratecard keeps what it caches, and whether that place can be trusted.

Gives `cache_dir()`, the configured directory (`$RATECARD_CACHE_DIR`, else
`$XDG_CACHE_HOME/ratecard`, else `~/.cache/ratecard`; None when
`RATECARD_CACHE_DIR=off`), and `private_dir()`, the same directory created
0700 if missing, or None unless it belongs to the user and no one else may
write to it. Everything ratecard caches (compiled books, Lark's parse
tables) is unpickled when it is read back, so it is kept only where no one
else could have planted a file: never in a shared directory such as /tmp.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path | None:
    configured = os.environ.get("RATECARD_CACHE_DIR")
    if configured is not None:
        return None if configured.strip().lower() in ("", "off", "0", "no") else Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ratecard"


def is_private(folder: Path) -> bool:
    """Does `folder` belong to this user, with no one else allowed to write in it?"""
    if not hasattr(os, "getuid"):
        return True  # no POSIX owners: the user's profile directory is private by default
    status = os.stat(folder)
    return status.st_uid == os.getuid() and status.st_mode & 0o022 == 0


def private_dir() -> Path | None:
    """The cache directory, created private if missing; None when it is off, cannot be made, or is not private."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder if is_private(folder) else None
    except OSError:
        return None
