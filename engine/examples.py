"""Running a book's worked examples.

Takes a compiled `PriceBook` and gives, for each of its worked examples,
whether the book prices it as the example expects: `failure` for one example
(what `rulecheck --explain` prints), and `run_examples`, which also takes the
`Program` the book was compiled from and gives the R032 diagnostics, each
pointed at what is wrong: the expected amount (`=> USD 0.000390`) when the
book gives another, the region or the model when the book does not know it.
This runs after compiling; the checker (`check.py`) needs no compiled book.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from . import ast
from .errors import (
    Diagnostic,
    InvalidTokens,
    NoPriceInCurrency,
    NotEffective,
    PricingError,
    RegionNotOffered,
    UnknownModel,
    UnknownRegion,
    VariantNotPriced,
)
from .money import plain
from .source import Span

if TYPE_CHECKING:
    from .include import Program
    from .tables import Example, PriceBook

EXAMPLE_MISMATCH = "R032"


@attrs.frozen(slots=True)
class Failure:
    message: str
    hint: str | None
    part: str  # what the diagnostic points at: "amount", "place", "model", "variant", "tokens", "at" or "example"


# Which part of an example a pricing error is about; any other error is about the example as a whole.
_PART_OF_ERROR = ((UnknownRegion, "place"), (RegionNotOffered, "place"), (UnknownModel, "model"),
                  (NoPriceInCurrency, "amount"), (InvalidTokens, "tokens"), (NotEffective, "at"),
                  (VariantNotPriced, "variant"))


def failure(book: PriceBook, example: Example) -> Failure | None:
    """Why the book does not give what the example expects, or None when it does."""
    try:
        quote = book.quote(region=example.place, model=example.model, tokens=dict(example.tokens),
                           requests=example.requests, currency=example.currency, at=example.at,
                           variants=example.variant)
    except PricingError as error:
        part = next((part for kind, part in _PART_OF_ERROR if isinstance(error, kind)), "tokens")
        return Failure(f"example '{example.title}' cannot be priced: {error.message}", error.hint, part)
    if quote.total_rounded == example.expected:
        return None
    breakdown = " + ".join(f"{line.token_type} {line.tokens:,} x {line.unit_price}/{line.pricing_unit} = "
                           f"{plain(line.amount)}" for line in quote.lines)
    tier = "one flat rate" if quote.tier.label == "all" else f"tier {quote.tier.index} ({quote.tier.label})"
    return Failure(f"example '{example.title}' expects {example.currency} {example.expected_text} "
                   f"but the book gives {quote.currency} {quote.total_rounded} (exact {plain(quote.total)})",
                   f"{tier}: {breakdown}", "amount")


def run_examples(book: PriceBook, program: Program) -> list[Diagnostic]:
    """An R032 error for every worked example the book does not price as expected."""
    written = program.root_file.all(ast.Book)[0].all(ast.Example)  # compiled in this order, one for one
    found = []
    for example, node in zip(book.examples, written):
        failed = failure(book, example)
        if failed is not None:
            found.append(Diagnostic(EXAMPLE_MISMATCH, failed.message, _span_of(node, failed.part), failed.hint))
    return found


def _span_of(node: ast.Example, part: str) -> Span:
    if part == "amount":
        return node.currency.span.to(node.expected.span)
    if part == "place":
        return node.place.span
    if part == "model":
        return node.model.span
    if part == "tokens" and node.tokens:
        return node.tokens[0].span.to((node.requests or node.tokens[-1]).span)
    if part == "variant" and node.variant:
        return node.variant[0].span.to(node.variant[-1].span)
    if part == "at" and node.at is not None:
        return node.at.span
    return node.span
