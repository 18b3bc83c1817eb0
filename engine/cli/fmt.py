"""`ratecard fmt`: format rules files in the one canonical layout.

Placeholder: the command is not built yet.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `fmt` subcommand to `ratecard`'s parser."""
