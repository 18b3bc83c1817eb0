"""Text to AST.

Takes the text of a `.rules` file and gives its `ast.RulesFile`, or the syntax
`Diagnostic`s that say in plain words what was expected where (never a Lark
terminal name such as `__ANON_3`), with a "did you mean" for a misspelt keyword.
Lark's LALR parser calls `build.py`'s callbacks as it recognises each rule, so
no parse tree is built in between. A file is parsed straight through first,
with Lark's parse tables but the quick lexer of `lexer.py` and a plain loop of
shifts and reductions (Lark's own loop costs a third more per token); only a
file that does not parse that way is parsed again, interactively and wholly
by Lark, to recover after each error and report several.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import chain

import attrs
import lark
from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.grammar import Rule

from . import ast
from .build import Builder
from .cachedir import private_dir
from .errors import Diagnostic, did_you_mean
from .lexer import ContextualLexer, NotReadable
from .resources import grammar_path
from .source import Source, Span

SYNTAX = "R001"

_TERMINAL_WORDS = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": 'a quoted string',
    "DATETIME": "a date such as 2026-04-08 or 2026-04-08T00:00+08:00",
    "TIMEZONE": "a time zone such as UTC+8",
    "$END": "the end of the file",
}


# The parser is built once with one set of callbacks; they read the path of the file being parsed (for
# its spans) from the builder, so one file is parsed at a time.
_BUILDER = Builder()
_PARSING = threading.Lock()


@cache
def parser(strict: bool = False) -> lark.Lark:
    """The LALR parser, which builds the AST as it goes.

    The test suite builds it with `strict=True` as well (which checks the grammar has no conflicts).
    Lark caches its parse tables in ratecard's private cache directory, never in a shared one: it
    unpickles them when it reads them back.
    """
    folder = None if strict else private_dir()
    return lark.Lark(
        grammar_path().read_text(encoding="utf-8"),
        parser="lalr",
        keep_all_tokens=True,  # the callbacks see every token: a node's span runs from its first to its last
        maybe_placeholders=True,
        transformer=_BUILDER,
        strict=strict,
        cache=False if folder is None else str(folder / "lark.tables"),
    )


@attrs.frozen(slots=True)
class QuickParser:
    """Lark's LALR tables and AST callbacks, driven by a plain loop over the quick lexer's tokens."""

    states: dict  # parser state -> {terminal or rule name: (action, state or rule)}
    start: object
    end: object
    shift: object  # the action that shifts
    reductions: dict  # rule -> (how many values it takes, its callback, the name it reduces to)
    lexer: ContextualLexer

    def parse(self, text: str, tokens: list | None = None) -> ast.RulesFile:
        """The AST of `text`; `NotReadable` when the text has a syntax error. `tokens` receives the tokens read."""
        stack, values = [self.start], []
        states, shift, reductions, end = self.states, self.shift, self.reductions, self.end
        lexed = self.lexer.tokens(text, stack)
        if tokens is not None:
            lexed = _recorded(lexed, tokens)
        for token in chain(lexed, (None,)):  # None: the end of the text
            kind = "$END" if token is None else token.type
            while True:
                action, target = states[stack[-1]].get(kind) or _unreadable(token)
                if action is shift:
                    if token is None:
                        _unreadable(token)
                    stack.append(target)
                    values.append(token)
                    break
                size, callback, name = reductions[target]  # reduce (inline: it runs millions of times a big book)
                children = values[-size:] if size else []
                if size:
                    del stack[-size:], values[-size:]
                values.append(callback(children))
                stack.append(states[stack[-1]][name][1])
                if token is None and stack[-1] == end:
                    return values[-1]


def _recorded(tokens: Iterable[Token], into: list) -> Iterator[Token]:
    for token in tokens:
        into.append(token)
        yield token


def _lark_parse(text: str, tokens: list | None) -> ast.RulesFile:
    """Lark's own parse (when the quick parser cannot be built), recording the tokens if asked."""
    if tokens is None:
        return parser().parse(text)
    interactive = parser().parse_interactive(text)
    tokens += interactive.exhaust_lexer()
    return interactive.feed_eof()


def _unreadable(token) -> tuple:
    raise NotReadable("the end of the file" if token is None else f"{token!r} on line {token.line}")


@cache
def quick_parser() -> QuickParser | None:
    """The quick parser; None if this version of Lark keeps its tables elsewhere (then Lark parses alone)."""
    lark_parser = parser()
    try:
        from lark.parsers.lalr_analysis import Shift
        tables = lark_parser.parser.parser.parser  # the front end's LALR parser's inner parser
        table, callbacks = tables.parse_table, tables.callbacks
        start, end = table.start_states["start"], table.end_states["start"]
        terminals, ignore = lark_parser.lexer_conf.terminals, lark_parser.lexer_conf.ignore
    except (AttributeError, ImportError, KeyError):
        return None
    # Lark names rules with its own Token (a str whose == is Python code): plain str keys look up faster.
    states = {state: {str(name): action for name, action in actions.items()} for state, actions in table.states.items()}
    reductions = {rule: (len(rule.expansion), callback, str(rule.origin.name))
                  for rule, callback in callbacks.items() if isinstance(rule, Rule)}
    lexer = ContextualLexer(terminals, ignore, states)
    return QuickParser(states, start, end, Shift, reductions, lexer)


MAX_SYNTAX_ERRORS = 10


def parse(text: str, path: str, tokens: list | None = None) -> ast.RulesFile | list[Diagnostic]:
    """The AST of `text`, or its syntax errors as diagnostics.

    `tokens`, when given, receives every token of a text that parses, in order (whitespace and comments
    are not tokens): `fmt.py` lays them out again.
    """
    with _PARSING:
        _BUILDER.start_file(path)
        try:
            quick = quick_parser()
            return quick.parse(text, tokens) if quick is not None else _lark_parse(text, tokens)
        except (NotReadable, UnexpectedInput):
            if tokens is not None:
                tokens.clear()  # the text has a syntax error: it has no tokens to lay out
            return _recovering_parse(text, path)
        finally:
            _BUILDER.start_file("<string>")  # let go of the file's names and numbers


def _recovering_parse(text: str, path: str) -> ast.RulesFile | list[Diagnostic]:
    """Parse again, and after an error skip ahead instead of stopping.

    The rest of the broken statement is dropped, and a `{ ... }` block that
    opens inside it is dropped whole, so one run reports the mistakes of
    several statements without a cascade of echoes.
    """
    interactive = parser().parse_interactive(text)
    recovery = _Recovery(interactive, text, path)
    lexer = interactive.lexer_thread
    while len(recovery.errors) < MAX_SYNTAX_ERRORS:
        try:
            for token in lexer.lex(interactive.parser_state):
                recovery.feed(token)
            break
        except UnexpectedToken as error:  # the lexer met a word that fits nowhere here; it is consumed
            recovery.feed(error.token, error)
        except UnexpectedCharacters as error:  # nothing the language knows: step over the whole word
            recovery.fail(error, None)
            lexer.state.line_ctr.feed(bad_word(text, error.pos_in_stream) or text[error.pos_in_stream])
    else:
        return recovery.errors
    try:
        tree = interactive.feed_eof()
    except UnexpectedInput as error:
        recovery.fail(error, None)
    return recovery.errors or tree


class _Recovery:
    """Feeds tokens to the parser, and after an error drops tokens until the parser accepts one again."""

    def __init__(self, interactive, text: str, path: str) -> None:
        self.interactive = interactive
        self.text = text
        self.path = path
        self.errors: list[Diagnostic] = []
        self.recovering = False
        self.skip_depth = 0
        self.previous = None
        self.keywords = keywords()

    def feed(self, token, lexer_error: UnexpectedToken | None = None) -> None:
        """Give `token` to the parser, or drop it while recovering; `lexer_error` when it fits nowhere."""
        if self.skip_depth:
            self.skip_depth += {"LBRACE": 1, "RBRACE": -1}.get(token.type, 0)
            return
        if self.recovering and token.type == "LBRACE":
            self.skip_depth = 1
            return
        if self.recovering and token.type not in self.keywords and token.type != "RBRACE":
            return  # still inside the broken statement
        if lexer_error is not None:
            self.fail(lexer_error, token)
            return
        try:
            self.interactive.feed_token(token)
            self.recovering = False
            self.previous = token
        except UnexpectedToken as error:
            self.fail(error, token)

    def fail(self, error: UnexpectedInput, token) -> None:
        if not self.recovering:
            diagnostic = _syntax_diagnostic(error, self.text, self.path)
            previous = self.previous
            if previous is not None and previous.type == "NAME" and str(previous) in keywords().values():
                # A keyword read as a name: the block before it was never closed.
                span = Span(self.path, previous.line, previous.column, previous.end_line, previous.end_column)
                diagnostic = Diagnostic(SYNTAX, f"'{previous}' cannot stand here: the block before it is still open",
                                        span, f"is a '}}' missing before '{previous}'?")
            elif previous is not None and previous.type == "RBRACE" and diagnostic.hint is None:
                diagnostic = attrs.evolve(diagnostic, hint=f"does the '}}' on line {previous.line} "
                                                           "close its block too early?")
            self.errors.append(diagnostic)
        self.recovering = True
        self.skip_depth = 1 if token is not None and token.type == "LBRACE" else 0


@cache
def keywords() -> dict[str, str]:
    """The language's keywords (`model`, `group`, ...), by terminal name."""
    return {t.name: t.pattern.value for t in parser().terminals
            if t.pattern.type == "str" and t.pattern.value.isalpha()}


def bad_word(text: str, position: int) -> str:
    """The run of non-space characters that starts at `position`."""
    end = position
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[position:end]


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[terminal]
    pattern = parser().get_terminal(terminal).pattern
    return f"'{pattern.value}'" if pattern.type == "str" else terminal.lower()


def _expected_phrase(expected: set[str]) -> str:
    words = sorted({_describe(t) for t in expected if t != "$END"} or {"the end of the file"})
    if len(words) > 6:
        return ", ".join(words[:6]) + f" or one of {len(words) - 6} more"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _syntax_diagnostic(error: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        word = bad_word(text, error.pos_in_stream)
        span = Span(path, error.line, error.column, error.line, error.column + max(1, len(word)))
        if word.lstrip("-")[:1].isdigit():
            return Diagnostic(SYNTAX, f"'{word}' is not a number", span,
                              "write digits with an optional decimal part and K (x 1,000) or M (x 1,000,000): "
                              "0.000480, 128K, 1M")
        return Diagnostic(SYNTAX, f"unexpected character {word[:1]!r}", span,
                          "names use letters, digits, '-' and '_'; text goes in double quotes")
    expected = set(error.expected)
    if isinstance(error, UnexpectedEOF) or error.token.type == "$END":
        span = Source(path, text).end_point()
        return Diagnostic(SYNTAX, f"the file ends early: expected {_expected_phrase(expected)}",
                          span, "is a closing '}' missing?")
    token = error.token
    span = Span(path, token.line, token.column, token.end_line or token.line,
                token.end_column or token.column + len(token))
    words = [keywords()[t] for t in expected if t in keywords()]
    hint = did_you_mean(str(token), words) if token.type == "NAME" else None
    return Diagnostic(SYNTAX, f"unexpected {str(token)!r}: expected {_expected_phrase(expected)}", span, hint)
