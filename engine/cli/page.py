"""`ratecard page`: write a book's price page (HTML or Markdown).

Placeholder: the command is not built yet.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `page` subcommand to `ratecard`'s parser."""
