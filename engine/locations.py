"""Source locations as outputs name them.

Takes a `Span` (or a rules file's path) and gives the text quotes, bills,
FOCUS exports, the printed SQL query and `ratecard explain` show for it:
`rules/emr-starrocks-ai-function.rules:28:26`. A shipped book is
`rules/NAME.rules` wherever ratecard is installed, a book below the working
directory is named relative to it, any other as it was loaded. A data module:
it imports no stage.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from .resources import rules_dir

if TYPE_CHECKING:
    from .source import Span


@lru_cache(maxsize=4096)
def location(span: Span) -> str:
    """A span's start, `path:line:col`, with the path as `shown_path` gives it."""
    return f"{shown_path(span.path)}:{span.line}:{span.column}"


@lru_cache(maxsize=64)
def shown_path(path: str) -> str:
    """A rules file's path as a person would name it: `rules/NAME` for a shipped book, else relative to the
    working directory when it is below it, else as given."""
    resolved = Path(path).resolve()
    for base, prefix in ((rules_dir().resolve(), "rules"), (Path.cwd().resolve(), "")):
        if resolved.is_relative_to(base):
            relative = resolved.relative_to(base).as_posix()
            return f"{prefix}/{relative}" if prefix else relative
    return path
