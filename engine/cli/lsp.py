"""`ratecard lsp`: run the language server (the lsp extra).

Placeholder: the command is not built yet.
"""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `lsp` subcommand to `ratecard`'s parser."""
