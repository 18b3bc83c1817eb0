"""`ratecard lsp`: run the language server (`ratecard.lsp`) for one editor on stdin and stdout.

Takes no input but the editor's protocol messages and gives the server's
answers; it runs until the editor shuts it down (exit 0). The server needs
pygls, the lsp extra: without it the command fails with E540 and the way to
install it (exit 2). pygls is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib.util

from ..errors import RatecardError


class LanguageServerMissing(RatecardError):
    code = "E540"


def register(commands: argparse._SubParsersAction) -> None:
    """Add the `lsp` subcommand to `ratecard`'s parser."""
    lsp = commands.add_parser(
        "lsp", help="run the language server for editors (on stdio; the lsp extra)",
        description="Run the ratecard language server on standard input and output: diagnostics as you type, "
                    "hover on rates, go to definition, completion and formatting. Editors start it themselves "
                    "(docs/editors.md). Needs the lsp extra (pygls).")
    lsp.add_argument("--stdio", action="store_true",
                     help="talk over standard input and output (the only way, and the default; accepted because "
                          "editors pass it)")
    lsp.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("pygls") is None or importlib.util.find_spec("lsprotocol") is None:
        raise LanguageServerMissing("ratecard lsp needs pygls, which is not installed",
                                    "pip install 'ratecard[lsp]'")
    from ..lsp import serve
    serve()
    return 0
