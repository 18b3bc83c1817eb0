"""Tokens to AST: the callbacks the parser calls as it recognises each rule.

Takes, for each grammar rule the LALR parser reduces, the rule's children
(every token, keywords and braces included, as `keep_all_tokens` gives them,
with None where an optional part `[...]` is absent, and the nodes already built
for its sub-rules) and gives the typed, frozen `ast.py` node, with the span
from its first token to its last. The parser (`parse.py`) calls these while it
reads, so a book never exists as a Lark parse tree: for a big book that tree
cost more time and memory than everything else together. Number literals
become exact `Decimal`s here, with `K` (x 1,000) and `M` (x 1,000,000) applied.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

import lark
from lark import Token

from . import ast
from .source import Span

MULTIPLIERS = {"K": 1_000, "M": 1_000_000}


def number_value(text: str) -> Decimal:
    """The exact value of a number literal: `128K` is 128000, `0.000138` stays as written.

    The multiplication has the precision it needs: the default context's 28 digits would round
    a long literal silently (the checker, not this function, refuses numbers that are too long).
    """
    suffix = text[-1]
    if suffix in MULTIPLIERS:
        exact = decimal.Context(prec=len(text) + 7, traps=[decimal.Inexact])
        return exact.multiply(Decimal(text[:-1]), MULTIPLIERS[suffix])
    return Decimal(text)


def unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


class Builder(lark.Transformer):
    """The AST callbacks, one per grammar rule. `path` names the file being parsed (spans carry it)."""

    def __init__(self) -> None:
        super().__init__()
        self.path = "<string>"
        # One text and one Decimal per distinct literal: a big book repeats its names and numbers thousands
        # of times, and each copy would cost as much memory as the node that holds it.
        self.names: dict[str, str] = {}
        self.numbers: dict[str, tuple[str, Decimal]] = {}

    def start_file(self, path: str) -> None:
        self.path = path
        self.names, self.numbers = {}, {}

    # -- spans, names, numbers ----------------------------------------------

    def _span(self, children: list) -> Span:
        """From the first child to the last that is there (None stands for an absent optional part)."""
        present = [c for c in children if c is not None]
        if not present:
            return Span.whole(self.path)
        return self._between(present[0], present[-1])

    def _between(self, first, last) -> Span:
        """From the start of `first` to the end of `last`: tokens, or nodes already built."""
        if not isinstance(first, Token):
            first = first.span
        if not isinstance(last, Token):
            last = last.span
        return Span(self.path, first.line, first.column, last.end_line, last.end_column)

    def _name(self, token: Token) -> ast.Name:
        text = self.names.get(token.value)
        if text is None:
            text = self.names[token.value] = token.value
        return ast.Name(text, self.path, token.line, token.column, token.end_column)

    def _number(self, token: Token) -> ast.Number:
        literal = self.numbers.get(token.value)
        if literal is None:
            literal = self.numbers[token.value] = (token.value, number_value(token.value))
        return ast.Number(literal[1], literal[0], self.path, token.line, token.column, token.end_column)

    def _moment(self, token: Token | None) -> ast.Moment | None:
        return None if token is None else ast.Moment(str(token), self.path, token.line, token.column,
                                                     token.end_column)

    def _names(self, children: list) -> tuple[ast.Name, ...]:
        return tuple(self._name(c) for c in children if isinstance(c, Token) and c.type == "NAME")

    @staticmethod
    def _strings(children: list) -> list[str]:
        return [unquote(str(c)) for c in children if isinstance(c, Token) and c.type == "STRING"]

    @staticmethod
    def _optional_string(value) -> str | None:
        return None if value is None else unquote(str(value))

    # -- file level -------------------------------------------------------

    def start(self, items):
        return ast.RulesFile(self.path, tuple(items), self._span(items))

    def include(self, children):  # "include" STRING
        return ast.Include(unquote(str(children[1])), self._between(children[0], children[-1]))

    def region(self, children):  # "region" NAME STRING ("," STRING)*
        return ast.RegionDecl(self._name(children[1]), tuple(self._strings(children[2:])),
                              self._between(children[0], children[-1]))

    def book(self, children):  # "book" NAME [STRING] "{" _book_stmt* "}"
        return ast.Book(self._name(children[1]), self._optional_string(children[2]), tuple(children[4:-1]),
                        self._between(children[0], children[-1]))

    # -- book settings ----------------------------------------------------

    def source(self, children):  # "source" STRING
        return ast.SourceRef(unquote(str(children[1])), self._between(children[0], children[-1]))

    def currency(self, children):  # "currency" NAME ("," NAME)*
        return ast.Currencies(self._names(children), self._between(children[0], children[-1]))

    def price_unit(self, children):  # "price" "per" [NUMBER] ("tokens" | "token")
        size = children[2]
        return ast.PriceUnit(None if size is None else self._number(size), self._between(children[0], children[-1]))

    def cycle(self, children):  # "cycle" NAME "in" TIMEZONE
        return ast.Cycle(self._name(children[1]), self._name(children[3]), self._between(children[0], children[-1]))

    def rounding(self, children):  # "round" NUMBER NAME
        return ast.Rounding(self._number(children[1]), self._name(children[2]), self._between(children[0],
                                                                                              children[-1]))

    def effective(self, children):  # "effective" ["from" DATETIME] ["until" DATETIME]
        return ast.Effective(self._moment(children[2]), self._moment(children[4]), self._span(children))

    def group(self, children):  # "group" NAME "=" NAME ("," NAME)*
        names = self._names(children)
        return ast.Group(names[0], names[1:], self._between(children[0], children[-1]))

    def variant_field(self, children):  # "variant" NAME "=" variant_value ("," variant_value)*
        values = tuple(c for c in children if isinstance(c, ast.VariantValue))
        return ast.VariantField(self._name(children[1]), values, self._between(children[0], children[-1]))

    def variant_value(self, children):  # NAME ["*" NUMBER]
        multiplier = children[-1] if len(children) > 1 else None
        return ast.VariantValue(self._name(children[0]), None if multiplier is None else self._number(multiplier),
                                self._span(children))

    def time_window(self, children):
        # "window" NAME "=" [NAME] CLOCK "to" [NAME] CLOCK "in" TIMEZONE ["*" NUMBER]
        multiplier = children[11] if len(children) > 11 else None
        return ast.TimeWindow(self._name(children[1]), children[3] and self._name(children[3]),
                              self._name(children[4]), children[6] and self._name(children[6]),
                              self._name(children[7]), self._name(children[9]),
                              None if multiplier is None else self._number(multiplier), self._span(children))

    def exclusive(self, children):  # "exclusive" NAME ("," NAME)+
        return ast.Exclusive(self._names(children[1:]), self._between(children[0], children[-1]))

    def trial(self, children):  # "trial" "until" DATETIME [STRING]
        return ast.Trial(self._moment(children[2]), self._optional_string(children[3]), self._span(children))

    # -- models -----------------------------------------------------------

    def model(self, children):  # "model" NAME [STRING] "{" _model_stmt* "}"
        body = children[4:-1]
        selectors = tuple(s for s in body if isinstance(s, ast.Selector))
        tables = tuple(t for t in body if isinstance(t, ast.RateTable))
        aliases = tuple(a for a in body if isinstance(a, ast.Alias))
        units = tuple(u for u in body if isinstance(u, ast.PriceUnit))
        variants = tuple(v for v in body if isinstance(v, ast.ModelVariant))
        return ast.Model(self._name(children[1]), self._optional_string(children[2]), selectors, tables,
                         self._between(children[0], children[-1]), aliases, units, variants)

    def model_variant(self, children):  # "variant" NAME ("*" NUMBER | "{" table+ "}")
        tables = tuple(c for c in children if isinstance(c, ast.RateTable))
        multiplier = None if tables else self._number(children[3])
        return ast.ModelVariant(self._name(children[1]), multiplier, tables, self._between(children[0], children[-1]))

    def alias(self, children):  # "alias" NAME ("," NAME)*
        return ast.Alias(self._names(children[1:]), self._between(children[0], children[-1]))

    def selector(self, children):  # "tier" "by" NAME ("+" NAME)* "tokens" "per" "request"
        return ast.Selector(self._names(children[2:-3]), self._between(children[0], children[-1]))

    def table(self, children):  # NAME ("," NAME)* [effective] "{" (flat_rates | tier_row+) "}"
        effective = next((c for c in children if isinstance(c, ast.Effective)), None)
        rows = tuple(c for c in children if isinstance(c, ast.TierRow))
        return ast.RateTable(self._names(children), effective, rows, self._between(children[0], children[-1]))

    def flat_rates(self, rates):  # rate+: one row with no bounds
        return ast.TierRow(None, tuple(rates))

    def tier_row(self, children):  # bounds rate+
        return ast.TierRow(children[0], tuple(children[1:]))

    def bounded(self, children):  # NUMBER "<" "T" "<=" NUMBER
        return ast.Bounds(self._number(children[0]), self._number(children[4]), self._between(children[0],
                                                                                              children[4]))

    def unbounded(self, children):  # NUMBER "<" "T"
        return ast.Bounds(self._number(children[0]), None, self._between(children[0], children[2]))

    def rate(self, children):  # NAME price ("," price)* [rate_unit]
        unit = children[-1]
        prices = tuple(children[1:-1:2])  # the commas between them are tokens
        return ast.Rate(self._name(children[0]), prices, None, unit)

    def rate_unit(self, children):  # "per" [NUMBER] (NAME | "tokens" | "token" | "requests" | "request")
        size = children[1]
        return ast.RateUnit(None if size is None else self._number(size), self._name(children[2]),
                            self._between(children[0], children[2]))

    def not_billed(self, children):  # NAME "not" "billed"
        return ast.Rate(self._name(children[0]), (), self._name(children[2]))

    def price(self, children):  # NAME? NUMBER ["from" DATETIME]
        currency = self._name(children[0]) if len(children) == 4 else None
        return ast.Price(currency, self._number(children[-3]), self._moment(children[-1]))

    # -- quota, examples --------------------------------------------------

    def quota(self, children):  # "quota" NAME [STRING] "{" _quota_stmt* "}"
        return ast.Quota(self._name(children[1]), self._optional_string(children[2]), tuple(children[4:-1]),
                         self._between(children[0], children[-1]))

    def quota_free(self, children):  # "free" NUMBER "tokens" "per" "account"
        return ast.QuotaFree(self._number(children[1]), self._between(children[0], children[-1]))

    def quota_window(self, children):  # "window" NUMBER NAME "from" "first" "use"
        return ast.QuotaWindow(self._number(children[1]), self._name(children[2]),
                               self._between(children[0], children[-1]))

    def quota_consume(self, children):  # "consume" NAME ("," NAME)*
        return ast.QuotaConsume(self._names(children), self._between(children[0], children[-1]))

    def token_count(self, children):  # NAME NUMBER
        return ast.TokenCount(self._name(children[0]), self._number(children[1]))

    def requests(self, children):  # "requests" NUMBER
        return self._number(children[1])

    def at(self, children):  # "at" DATETIME
        return self._moment(children[1])

    def example(self, children):
        # "example" STRING "{" (NAME | STRING) NAME token_count+ requests? at? "=>" NAME NUMBER "}"
        title, place, model, rest = children[1], children[3], children[4], children[5:-4]
        tokens = tuple(c for c in rest if isinstance(c, ast.TokenCount))
        requests = next((c for c in rest if isinstance(c, ast.Number)), None)
        at = next((c for c in rest if isinstance(c, ast.Moment)), None)
        variant = next((c for c in rest if isinstance(c, tuple)), ())
        place_name = ast.Name(unquote(str(place)) if place.type == "STRING" else str(place), self.path, place.line,
                              place.column, place.end_column)
        return ast.Example(unquote(str(title)), place_name, self._name(model), tokens, requests, at,
                           self._name(children[-3]), self._number(children[-2]),
                           self._between(children[0], children[-1]), variant)

    def example_variant(self, children):  # "variant" NAME ("," NAME)*
        return self._names(children[1:])
