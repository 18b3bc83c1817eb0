"""Highlighting `.rules` files with Pygments.

Takes the text of a `.rules` file and gives Pygments tokens: the grammar's
keywords (read from `grammar/ratecard.lark` itself, so the two cannot drift),
the names a statement declares (books and models as classes, quotas as labels,
regions as constants, groups as variables), token types before a price,
currency codes, the words a setting takes (`hourly`, `half-up`, `months`),
numbers with their `K`/`M`, dates, time zones, strings, comments, operators
and the `T` of a tier bound. A character no token of the language can start
with (`;`) is an `Error` token, as it is a syntax error to the parser.

Registered as the Pygments lexer `ratecard` (entry point in pyproject.toml), so
`pygmentize -l ratecard book.rules` and documentation tools find it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import ClassVar

from pygments.lexer import RegexLexer, bygroups
from pygments.token import (
    Comment,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    Punctuation,
    String,
    Whitespace,
    _TokenType,
)

from .check import CYCLE_PERIODS, ROUNDING_MODES, WINDOW_UNITS
from .resources import grammar_path

# The grammar's own terminals (grammar/ratecard.lark), written for Python's `re`.
NAME = r"[@~]?[A-Za-z_][A-Za-z0-9_]*(?:[-./:@][A-Za-z0-9_]+)*"
NUMBER_END = r"(?![A-Za-z0-9_.])"
DATETIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:T[0-9]{2}:[0-9]{2}(?::[0-9]{2})?(?:Z|[+-][0-9]{2}:[0-9]{2})?)?"
CLOCK = r"[0-9]{2}:[0-9]{2}(?![0-9:])"  # a time of day of a `window`
TIMEZONE = r"UTC(?:[+-][0-9]{1,2}(?::[0-9]{2})?)?(?![A-Za-z0-9_./:@-])"
NUMBER = r"-?[0-9]+(?:\.[0-9]+)?[KM]?" + NUMBER_END
CURRENCY = re.compile(r"[A-Z]{3}")  # an ISO 4217 code, as the books write currencies
BOUND_VARIABLE = "T"  # the request's token count in `0 < T <= 128K`: a keyword only there

_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_TERMINAL_DEFINITION = re.compile(r"^\s*[A-Z_][A-Z0-9_]*(?:\.\d+)?\s*:")


@lru_cache(maxsize=1)
def grammar_literals() -> tuple[frozenset[str], frozenset[str]]:
    """The quoted strings of the grammar's rules: (the words, the symbols such as `<=`)."""
    words, symbols = set(), set()
    for line in grammar_path().read_text(encoding="utf-8").splitlines():
        code = line.split("//", 1)[0]
        if _TERMINAL_DEFINITION.match(code) or code.lstrip().startswith("%"):
            continue  # a terminal's regular expression, or a directive: no literals of the language
        for literal in _QUOTED.findall(code):
            (words if re.fullmatch(r"[A-Za-z]+", literal) else symbols).add(literal)
    return frozenset(words), frozenset(symbols)


KEYWORDS = grammar_literals()[0] - {BOUND_VARIABLE}
PUNCTUATION = "{},"
OPERATORS = "|".join(re.escape(symbol) for symbol in sorted(grammar_literals()[1] - set(PUNCTUATION), key=len,
                                                             reverse=True))  # longest first: `<=` before `<`
SETTING_WORDS = frozenset(CYCLE_PERIODS + ROUNDING_MODES + WINDOW_UNITS)

WordAction = Callable[..., Iterator[tuple[int, _TokenType, str]]]


def _word(default: _TokenType) -> WordAction:
    """A name as `default`, unless it is a keyword or a currency code."""
    def action(lexer: RegexLexer, match: re.Match, ctx: object = None) -> Iterator[tuple[int, _TokenType, str]]:
        text = match.group()
        if text in KEYWORDS:
            kind = Keyword
        elif CURRENCY.fullmatch(text):
            kind = Keyword.Type
        else:
            kind = default
        yield match.start(), kind, text
    return action


def _setting_word(lexer: RegexLexer, match: re.Match, ctx: object = None) -> Iterator[tuple[int, _TokenType, str]]:
    """The word a setting takes: a builtin when the engine knows it, else a plain name (a misspelling shows)."""
    if match.group() in SETTING_WORDS:
        yield match.start(), Name.Builtin, match.group()
    else:
        yield from _word(Name)(lexer, match)


def _declaration(keyword: str, kind: _TokenType) -> tuple[str, WordAction]:
    """`keyword NAME`: the name is declared here, whatever it looks like (the parser reads a keyword there as a name)."""
    return rf"({keyword})(\s+)({NAME})", bygroups(Keyword, Whitespace, kind)


class RatecardLexer(RegexLexer):
    """Pygments lexer for ratecard price books (`.rules`)."""

    name = "Ratecard"
    aliases: ClassVar[list[str]] = ["ratecard", "rules"]
    filenames: ClassVar[list[str]] = ["*.rules"]
    mimetypes: ClassVar[list[str]] = ["text/x-ratecard"]

    tokens: ClassVar[dict[str, list]] = {
        "root": [
            (r"\s+", Whitespace),
            (r"#[^\n]*", Comment.Single),
            (r'"(?=(?:[^"\\\n]|\\.)*")', String.Double, "string"),  # an unclosed quote is an error token
            (DATETIME, Literal.Date),
            (CLOCK, Literal.Date),
            (TIMEZONE, Keyword.Constant),
            (rf"(<)(\s*)({BOUND_VARIABLE})(?![A-Za-z0-9_./:@-])", bygroups(Operator, Whitespace, Keyword.Pseudo)),
            (r"-?[0-9]+\.[0-9]+[KM]?" + NUMBER_END, Number.Float),
            (NUMBER, Number.Integer),
            (OPERATORS, Operator),
            (f"[{re.escape(PUNCTUATION)}]", Punctuation),
            _declaration("book", Name.Class),
            _declaration("model", Name.Class),
            _declaration("quota", Name.Label),
            _declaration("region", Name.Constant),
            _declaration("group", Name.Variable),
            (rf"(cycle)(\s+)({NAME})", bygroups(Keyword, Whitespace, _setting_word)),
            (rf"(round|window)(\s+)([0-9]+{NUMBER_END})(\s+)({NAME})",
             bygroups(Keyword, Whitespace, Number.Integer, Whitespace, _setting_word)),
            # A token type before its price (`input 0.000480`, `EUR`-prefixed too) or `not billed`.
            (rf"{NAME}(?=[ \t]+(?:-?[0-9]|[A-Z]{{3}}[ \t]+-?[0-9]|not[ \t]+billed(?![A-Za-z0-9_./:@-])))",
             _word(Name.Attribute)),
            (NAME, _word(Name)),
        ],
        "string": [
            (r'[^"\\\n]+', String.Double),
            (r"\\.", String.Escape),
            (r'"', String.Double, "#pop"),
        ],
    }
