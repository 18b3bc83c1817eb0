"""How places are named: region IDs and display names match regardless of case and spacing."""

from __future__ import annotations


def normalize_place(text: str) -> str:
    """`"US  (virginia)"` and `"us (Virginia)"` are the same place."""
    return " ".join(text.casefold().split())
