"""Source text and spans.

Takes the text of a `.rules` file (or any input the engine reads) and gives
`Span`s, the line/column ranges that every AST node and diagnostic carries, plus
`Source.excerpt`, the source line with a caret under a span, for error messages.
"""

from __future__ import annotations

import attrs


@attrs.frozen(slots=True)
class Span:
    """A 1-based line/column range inside one named source."""

    path: str
    line: int
    column: int
    end_line: int
    end_column: int

    @classmethod
    def point(cls, path: str, line: int, column: int) -> Span:
        return cls(path, line, column, line, column + 1)

    @classmethod
    def whole(cls, path: str) -> Span:
        """A span for errors about a file as a whole (it is missing, unreadable...)."""
        return cls(path, 0, 0, 0, 0)

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.column}"


@attrs.frozen(slots=True)
class Source:
    """The text of one input, named by its path (or `<string>`)."""

    path: str
    text: str

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1] if 0 < line <= len(lines) else ""

    def excerpt(self, span: Span) -> str:
        """The span's first line with carets under the spanned columns."""
        if span.line <= 0:
            return ""
        text = self.line_text(span.line)
        if span.end_line == span.line:
            width = max(1, span.end_column - span.column)
        else:
            width = max(1, len(text) - span.column + 1)
        gutter = f"{span.line:>4} | "
        caret = " " * (len(gutter) + span.column - 1) + "^" * width
        return f"{gutter}{text}\n{caret}"
