"""`ratecard diff`: compare two price books, and what the change does to bills.

Placeholder: the command is not built yet.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `diff` subcommand to `ratecard`'s parser."""
