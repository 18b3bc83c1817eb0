"""Text to tokens, quickly, for the parser's straight-through pass.

Takes the text of a `.rules` file, the grammar's terminals and the parser's
state stack, and gives the text's tokens one by one as the parser takes them:
the tokens Lark's own contextual lexer gives (in each parser state only the
terminals that state accepts, in Lark's order of priority; a keyword only
where the state accepts it, a name otherwise), but with one regular-expression
match per token, the whitespace and comments before it included, and no
per-character line counting. On text it cannot read it raises `NotReadable`:
`parse.py` then parses again with Lark's own lexer and parser, whose errors
and recovery it relies on, so this lexer only ever decides how valid text is
read, never what an error says.

For a big book Lark's lexer took half of all the time `rulecheck` spent.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence

import attrs
from lark import Token


class NotReadable(Exception):
    """The quick pass cannot read this text (it has a mistake): parse it again the thorough way."""


@attrs.frozen(slots=True)
class _Scanner:
    """The lexer of one parser state."""

    pattern: re.Pattern  # whitespace and comments, then one named group per terminal the state accepts
    keywords: dict[str, dict[str, str]]  # per regex terminal (NAME): the keywords it also matches -> their terminal


class ContextualLexer:
    """Tokens for an LALR parser whose state stack it is shown (Lark's terminal definitions and parse states)."""

    def __init__(self, terminals: Sequence, ignore: Collection[str], states: Mapping) -> None:
        self.terminals = {t.name: t for t in terminals}
        self.ignore = frozenset(ignore)
        self.states = states  # parser state -> {terminal or rule name: action}
        gaps = "|".join(f"(?:{self.terminals[name].pattern.to_regexp()})" for name in sorted(self.ignore))
        self.gap = f"(?:{gaps})*+"  # possessive: a long gap before a bad character never backtracks
        self.only_gap = re.compile(self.gap)
        self.by_accepted: dict[frozenset[str], _Scanner] = {}
        self.by_state: dict[object, _Scanner] = {}

    def tokens(self, text: str, stack: list) -> Iterator[Token]:
        """The tokens of `text`; each is read with the terminals of the state on top of `stack` at that moment."""
        pos, end, line, line_start = 0, len(text), 1, 0
        count, rfind, new_token = text.count, text.rfind, str.__new__
        by_state = self.by_state
        while True:
            state = stack[-1]
            scanner = by_state.get(state) or self._scanner_of(state)
            match = scanner.pattern.match(text, pos)
            if match is None:
                if self.only_gap.match(text, pos).end() == end:
                    return
                raise NotReadable(f"line {line}, column {pos - line_start + 1}")
            kind = match.lastgroup
            start = match.start(kind)
            newlines = count("\n", pos, start)  # only gaps hold line breaks: no token can
            if newlines:
                line += newlines
                line_start = rfind("\n", pos, start) + 1
            pos = match.end()
            value = text[start:pos]
            keywords = scanner.keywords.get(kind)
            if keywords is not None:
                kind = keywords.get(value, kind)
            token = new_token(Token, value)  # Token's own constructor costs more than the whole match
            token.type, token.value, token.start_pos, token.end_pos = kind, value, start, pos
            token.line = token.end_line = line
            token.column, token.end_column = start - line_start + 1, pos - line_start + 1
            yield token

    def _scanner_of(self, state) -> _Scanner:
        accepted = frozenset(name for name in self.states[state] if name in self.terminals and name not in self.ignore)
        scanner = self.by_accepted.get(accepted)
        if scanner is None:
            scanner = self.by_accepted[accepted] = self._build(accepted)
        self.by_state[state] = scanner
        return scanner

    def _build(self, accepted: frozenset[str]) -> _Scanner:
        """As Lark builds it: a keyword a regex terminal also matches is that terminal, renamed after the match."""
        terminals = [self.terminals[name] for name in accepted]
        keywords: dict[str, dict[str, str]] = {}
        embedded = set()
        for regex in (t for t in terminals if t.pattern.type == "re"):
            for word in (t for t in terminals if t.pattern.type == "str" and t.priority == regex.priority):
                found = re.match(regex.pattern.to_regexp(), word.pattern.value)
                if found is not None and found.group(0) == word.pattern.value:
                    keywords.setdefault(regex.name, {})[word.pattern.value] = word.name
                    if word.pattern.flags <= regex.pattern.flags:
                        embedded.add(word.name)
        alternatives = sorted((t for t in terminals if t.name not in embedded),
                              key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name))
        groups = "|".join(f"(?P<{t.name}>{t.pattern.to_regexp()})" for t in alternatives) or "(?!)"
        return _Scanner(re.compile(f"{self.gap}(?:{groups})"), keywords)
