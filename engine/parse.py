"""Text to parse tree.

Takes the text of a `.rules` file and gives Lark's parse tree, or a syntax
`Diagnostic` that says in plain words what was expected where (never a Lark
terminal name such as `__ANON_3`), with a "did you mean" for a misspelt keyword.
"""

from __future__ import annotations

from functools import lru_cache

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import Diagnostic, did_you_mean
from .resources import grammar_path
from .source import Span

SYNTAX = "R001"

_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted string',
    "DATETIME": "a date such as 2026-04-08 or 2026-04-08T00:00+08:00",
    "TIMEZONE": "a time zone such as UTC+8",
    "$END": "the end of the file",
}


@lru_cache(maxsize=None)
def parser(strict: bool = False) -> lark.Lark:
    """The LALR parser. The test suite builds it with `strict=True` as well."""
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        strict=strict,
        cache=not strict,
    )


def parse(text: str, path: str) -> lark.Tree | Diagnostic:
    """The parse tree of `text`, or the first syntax error as a diagnostic."""
    try:
        return parser().parse(text)
    except UnexpectedInput as error:
        return _syntax_diagnostic(error, text, path)


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    pattern = parser().get_terminal(terminal).pattern
    return f"'{pattern.value}'" if pattern.type == "str" else terminal.lower()


def _keywords(expected: set[str]) -> list[str]:
    words = []
    for terminal in expected:
        if terminal in _TERMINAL_WORDS:
            continue
        pattern = parser().get_terminal(terminal).pattern
        if pattern.type == "str" and pattern.value.isalpha():
            words.append(pattern.value)
    return words


def _expected_phrase(expected: set[str]) -> str:
    words = sorted({_describe(t) for t in expected if t != "$END"} or {"the end of the file"})
    if len(words) > 6:
        return ", ".join(words[:6]) + f" or one of {len(words) - 6} more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_diagnostic(error: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        span = Span.point(path, error.line, error.column)
        return Diagnostic(SYNTAX, f"unexpected character {char!r}", span,
                          "names use letters, digits, '-' and '_'; text goes in double quotes")
    if isinstance(error, UnexpectedEOF):
        lines = text.splitlines() or [""]
        span = Span.point(path, len(lines), len(lines[-1]) + 1)
        return Diagnostic(SYNTAX, f"the file ends early: expected {_expected_phrase(set(error.expected))}",
                          span, "is a closing '}' missing?")
    assert isinstance(error, UnexpectedToken)
    token = error.token
    expected = set(error.expected)
    if token.type == "$END":
        lines = text.splitlines() or [""]
        span = Span.point(path, len(lines), len(lines[-1]) + 1)
        return Diagnostic(SYNTAX, f"the file ends early: expected {_expected_phrase(expected)}",
                          span, "is a closing '}' missing?")
    span = Span(path, token.line, token.column, token.end_line or token.line,
                token.end_column or token.column + len(token))
    hint = did_you_mean(str(token), _keywords(expected)) if token.type == "NAME" else None
    return Diagnostic(SYNTAX, f"unexpected {str(token)!r}: expected {_expected_phrase(expected)}", span, hint)
