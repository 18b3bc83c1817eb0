"""`ratecard explain`: walk one usage record through the book, step by step.

Placeholder: the command is not built yet.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `explain` subcommand to `ratecard`'s parser."""
