"""Rendering diagnostics for people and tools.

Takes `Diagnostic`s (with the sources they point into) and gives text in the
form compilers use: `path:line:col: error[CODE]: message`, the source line, a
caret under the span, and `help: ...`. Also the JSON and GitHub-annotation
forms `rulecheck` offers (its SARIF form is `sarif.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Diagnostic
from ..source import Source


def diagnostic_text(diagnostic: Diagnostic, sources: Mapping[str, Source]) -> str:
    span = diagnostic.span
    lines = [f"{span}: {diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"]
    source = sources.get(span.path)
    if source is not None and span.line > 0:
        lines.append(source.excerpt(span))
    if diagnostic.hint:
        lines.append(f"  help: {diagnostic.hint}")
    return "\n".join(lines)


def diagnostic_dict(diagnostic: Diagnostic) -> dict[str, Any]:
    span = diagnostic.span
    return {
        "code": diagnostic.code,
        "severity": diagnostic.severity,
        "message": diagnostic.message,
        "file": span.path,
        "line": span.line,
        "column": span.column,
        "end_line": span.end_line,
        "end_column": span.end_column,
        "hint": diagnostic.hint,
    }


def message_with_hint(diagnostic: Diagnostic) -> str:
    """The message on one line with its hint, for tools that show only one text."""
    return diagnostic.message + (f" (help: {diagnostic.hint})" if diagnostic.hint else "")


def diagnostic_github(diagnostic: Diagnostic) -> str:
    """A GitHub Actions workflow command that annotates the line."""
    span = diagnostic.span
    level = "error" if diagnostic.is_error else "warning"
    message = message_with_hint(diagnostic).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    where = f"file={span.path}"
    if span.line > 0:
        where += f",line={span.line},col={span.column},endLine={span.end_line},endColumn={span.end_column}"
    return f"::{level} {where},title={diagnostic.code}::{message}"
