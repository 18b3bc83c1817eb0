"""Where the package data lives.

Gives the paths of the Lark grammar and of the shipped price books, both in an
installed wheel (`ratecard/grammar`, `ratecard/rules`) and in a source checkout
(`grammar/`, `rules/` beside `engine/`).
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The directory of package data `name` ("grammar" or "rules")."""
    installed = _PACKAGE_DIR / name
    if installed.is_dir():
        return installed
    return _PACKAGE_DIR.parent / name


def grammar_path() -> Path:
    return data_dir("grammar") / "ratecard.lark"


def rules_dir() -> Path:
    return data_dir("rules")
