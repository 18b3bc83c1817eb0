"""Source text and spans.

Takes the bytes or text of a `.rules` file (or any input the engine reads) and
gives `Span`s, the line/column ranges that every AST node and diagnostic
carries, plus `Source.excerpt`, the source line with a caret under a span, for
error messages. `decode_rules` turns a file's bytes into its text (UTF-8, an
optional BOM dropped); `look` reads a file and gives, beside its bytes, a
`Probe` (what was found at that path, or that nothing was), which the cache
keeps to tell later whether the same look would find the same.

Lines are counted as the parser counts them: a line ends at "\\n" and nowhere
else (not at a form feed, "\\r" alone, U+0085, U+2028 or U+2029), and a column
is a count of characters. An excerpt shows the line as a terminal can print it
(control characters and line separators as spaces) and pads the caret line
with the same tabs and the same widths as the text above it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import attrs

BOM = "\ufeff"
EXCERPT_WIDTH = 160  # a longer line is shown in part: from a little before the span
EXCERPT_CONTEXT = 40


def decode_rules(data: bytes) -> str:
    """The text of a rules file: strict UTF-8, without a leading byte order mark."""
    return data.decode("utf-8").removeprefix(BOM)


@attrs.frozen(slots=True, weakref_slot=False)
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

    def to(self, end: Span) -> Span:
        """From the start of this span to the end of `end`."""
        return Span(self.path, self.line, self.column, end.end_line, end.end_column)

    def __str__(self) -> str:
        if self.line <= 0:
            return self.path
        return f"{self.path}:{self.line}:{self.column}"


@attrs.frozen(slots=True)
class Source:
    """The text of one input, named by its path (or `<string>`)."""

    path: str
    text: str
    # Where each line starts, found on first use: a big book's excerpts must not each re-split the text.
    _starts: list[int] | None = attrs.field(default=None, init=False, eq=False, repr=False)

    def line_text(self, line: int) -> str:
        """Line `line` (1-based) without its "\\n" (or "\\r\\n"); "" beyond the text."""
        starts = self._line_starts()
        if not 0 < line <= len(starts):
            return ""
        end = starts[line] - 1 if line < len(starts) else len(self.text)
        return self.text[starts[line - 1]:end].removesuffix("\r")

    def end_point(self) -> Span:
        """Just after the last character that is not a line break: where 'the file ends early' points."""
        body = self.text.rstrip("\r\n")
        line = body.count("\n") + 1
        return Span.point(self.path, line, len(body) - body.rfind("\n"))

    def _line_starts(self) -> list[int]:
        if self._starts is None:
            starts, at = [0], self.text.find("\n")
            while at >= 0:
                starts.append(at + 1)
                at = self.text.find("\n", at + 1)
            object.__setattr__(self, "_starts", starts)  # a cache, not state: the source stays frozen
        return self._starts

    def excerpt(self, span: Span) -> str:
        """The span's first line with carets under the spanned columns (a long line: the part around them)."""
        if span.line <= 0:
            return ""
        text = self.line_text(span.line)
        start = min(span.column - 1, len(text))
        end = max(start, span.end_column - 1 if span.end_line == span.line else len(text))
        first = max(0, start - EXCERPT_CONTEXT) if len(text) > EXCERPT_WIDTH else 0
        last = min(len(text), first + EXCERPT_WIDTH)
        before, after = ("..." if first else ""), ("..." if last < len(text) else "")
        shown = _printable(text[first:last])
        gutter = f"{span.line:>4} | "
        carets = "^" * max(1, _width(shown[start - first:min(end, last) - first]))
        caret = " " * (len(gutter) + len(before)) + _padding(shown[:start - first]) + carets
        return f"{gutter}{before}{shown}{after}\n{caret}"


def _printable(text: str) -> str:
    """`text` as one terminal line: control characters and line separators (but tabs) become spaces."""
    return "".join(" " if c != "\t" and unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char) or unicodedata.category(char) == "Cf":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _width(text: str) -> int:
    return sum(_char_width(c) for c in text)


def _padding(prefix: str) -> str:
    """Blanks as wide as `prefix` on a terminal, keeping its tabs so that they expand alike."""
    return "".join("\t" if c == "\t" else " " * _char_width(c) for c in prefix)


@attrs.frozen(slots=True)
class Probe:
    """One look at a path while reading a program: the file found there, or that there was none.

    A compiled book is still current while every probe of the program it came
    from finds the same again (the cache re-checks them): the same bytes at the
    same real path, and still nothing where nothing was.
    """

    path: str  # absolute, as looked at (before symlinks are followed)
    resolved: str | None  # None: no file could be read there
    digest: str | None  # SHA-256 of the bytes read

    @property
    def found(self) -> bool:
        return self.digest is not None


def look(path: Path) -> tuple[Probe, bytes | None, OSError | None]:
    """The bytes of the file at `path` (or the error that kept them), with the probe that records it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        return Probe(str(path), None, None), None, error
    return Probe(str(path), str(path.resolve()), hashlib.sha256(data).hexdigest()), data, None


def probe(path: Path) -> Probe:
    """What a look at `path` finds now."""
    return look(path)[0]
