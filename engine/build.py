"""Parse tree to AST.

Takes Lark's parse tree of one `.rules` file and gives a `RulesFile` of typed,
frozen nodes (`ast.py`), each with its source span. Number literals become exact
`Decimal`s here, with `K` (x 1,000) and `M` (x 1,000,000) applied.
"""

from __future__ import annotations

import decimal
import re
from decimal import Decimal

import lark
from lark import Token, v_args

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


def build(tree: lark.Tree, path: str) -> ast.RulesFile:
    """The AST of one parsed file."""
    return _Builder(path).transform(tree)


@v_args(meta=True)
class _Builder(lark.Transformer):
    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path

    def _span(self, meta) -> Span:
        if getattr(meta, "empty", True):
            return Span.whole(self.path)
        return Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _token_span(self, token: Token) -> Span:
        return Span(self.path, token.line, token.column, token.end_line, token.end_column)

    def _name(self, token: Token) -> ast.Name:
        return ast.Name(str(token), self._token_span(token))

    def _number(self, token: Token) -> ast.Number:
        return ast.Number(number_value(str(token)), str(token), self._token_span(token))

    def _moment(self, token: Token | None) -> ast.Moment | None:
        return None if token is None else ast.Moment(str(token), self._token_span(token))

    def _strings(self, children) -> list[str]:
        return [unquote(str(c)) for c in children if isinstance(c, Token) and c.type == "STRING"]

    def _optional_string(self, value) -> str | None:
        return unquote(str(value)) if isinstance(value, Token) and value.type == "STRING" else None

    # -- file level -------------------------------------------------------

    def start(self, meta, items):
        return ast.RulesFile(self.path, tuple(items), self._span(meta))

    def include(self, meta, children):
        return ast.Include(unquote(str(children[0])), self._span(meta))

    def region(self, meta, children):
        return ast.RegionDecl(self._name(children[0]), tuple(self._strings(children[1:])), self._span(meta))

    def book(self, meta, children):
        name, title, *body = children
        return ast.Book(self._name(name), self._optional_string(title), tuple(body), self._span(meta))

    # -- book settings ----------------------------------------------------

    def source(self, meta, children):
        return ast.SourceRef(unquote(str(children[0])), self._span(meta))

    def currency(self, meta, children):
        return ast.Currencies(tuple(self._name(c) for c in children), self._span(meta))

    def price_unit(self, meta, children):
        size = children[0]
        return ast.PriceUnit(None if size is None else self._number(size), self._span(meta))

    def cycle(self, meta, children):
        return ast.Cycle(self._name(children[0]), self._name(children[1]), self._span(meta))

    def rounding(self, meta, children):
        return ast.Rounding(self._number(children[0]), self._name(children[1]), self._span(meta))

    def effective(self, meta, children):
        return ast.Effective(self._moment(children[0]), self._moment(children[1]), self._span(meta))

    def group(self, meta, children):
        return ast.Group(self._name(children[0]), tuple(self._name(c) for c in children[1:]), self._span(meta))

    def trial(self, meta, children):
        return ast.Trial(self._moment(children[0]), self._optional_string(children[1]), self._span(meta))

    # -- models -----------------------------------------------------------

    def model(self, meta, children):
        name, title, *body = children
        selectors = tuple(s for s in body if isinstance(s, ast.Selector))
        tables = tuple(t for t in body if isinstance(t, ast.RateTable))
        return ast.Model(self._name(name), self._optional_string(title), selectors, tables, self._span(meta))

    def selector(self, meta, children):
        return ast.Selector(self._name(children[0]), self._span(meta))

    def table(self, meta, children):
        places = tuple(self._name(c) for c in children if isinstance(c, Token))
        effective = next((c for c in children if isinstance(c, ast.Effective)), None)
        flat = next((c for c in children if isinstance(c, tuple)), None)
        rows = flat if flat is not None else tuple(c for c in children if isinstance(c, ast.TierRow))
        return ast.RateTable(places, effective, rows, self._span(meta))

    def flat_rates(self, meta, rates):
        return (ast.TierRow(None, tuple(rates), self._span(meta)),)

    def tier_row(self, meta, children):
        bounds, *rates = children
        return ast.TierRow(bounds, tuple(rates), self._span(meta))

    def bounded(self, meta, children):
        return ast.Bounds(self._number(children[0]), self._number(children[1]), self._span(meta))

    def unbounded(self, meta, children):
        return ast.Bounds(self._number(children[0]), None, self._span(meta))

    def rate(self, meta, children):
        token_type, *prices = children
        return ast.Rate(self._name(token_type), tuple(prices), True, self._span(meta))

    def not_billed(self, meta, children):
        return ast.Rate(self._name(children[0]), (), False, self._span(meta))

    def price(self, meta, children):
        currency = self._name(children[0]) if len(children) == 2 else None
        return ast.Price(currency, self._number(children[-1]), self._span(meta))

    # -- quota, examples --------------------------------------------------

    def quota(self, meta, children):
        name, title, *clauses = children
        return ast.Quota(self._name(name), self._optional_string(title), tuple(clauses), self._span(meta))

    def quota_free(self, meta, children):
        return ast.QuotaFree(self._number(children[0]), self._span(meta))

    def quota_window(self, meta, children):
        return ast.QuotaWindow(self._number(children[0]), self._name(children[1]), self._span(meta))

    def quota_consume(self, meta, children):
        return ast.QuotaConsume(tuple(self._name(c) for c in children), self._span(meta))

    def token_count(self, meta, children):
        return ast.TokenCount(self._name(children[0]), self._number(children[1]), self._span(meta))

    def requests(self, meta, children):
        return self._number(children[0])

    def at(self, meta, children):
        return self._moment(children[0])

    def example(self, meta, children):
        title, place, model, *rest = children
        tokens = tuple(c for c in rest if isinstance(c, ast.TokenCount))
        requests = next((c for c in rest if isinstance(c, ast.Number)), None)
        at = next((c for c in rest if isinstance(c, ast.Moment)), None)
        currency, expected = rest[-2], rest[-1]
        place_name = ast.Name(unquote(str(place)) if place.type == "STRING" else str(place), self._token_span(place))
        return ast.Example(unquote(str(title)), place_name, self._name(model), tokens, requests, at,
                           self._name(currency), self._number(expected), self._span(meta))
