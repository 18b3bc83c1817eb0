"""The grammar is conflict-free LALR, and syntax errors speak plainly."""

from __future__ import annotations

import pytest

from ratecard.parse import parse, parser


def test_grammar_builds_in_lark_strict_mode():
    strict = parser(strict=True)  # raises on any shift/reduce conflict or terminal collision
    assert strict.options.parser == "lalr"


def test_multipliers_are_exact():
    from ratecard.build import number_value
    assert number_value("128K") == 128_000
    assert number_value("1M") == 1_000_000
    assert number_value("1.5K") == 1_500
    assert str(number_value("0.000138")) == "0.000138"


@pytest.mark.parametrize("text, words", [
    ("book b { modle x { } }", "did you mean 'model'"),
    ("book b { currency USD", "ends early"),
    ("book b { currency USD } }", "unexpected '}'"),
    ("book b { round 6 half-up ; }", "unexpected character ';'"),
    ("book b { group g = }", "expected a name"),
    ("book b { round 6x half-up }", "'6x' is not a number"),
])
def test_syntax_errors_are_plain(text, words):
    diagnostics = parse(text, "x.rules")
    assert isinstance(diagnostics, list)
    diagnostic = diagnostics[0]
    assert diagnostic.code == "R001"
    assert words in diagnostic.message + " " + (diagnostic.hint or "")
    assert "__ANON" not in diagnostic.message and "LBRACE" not in diagnostic.message


def test_every_node_has_a_span():
    from ratecard import ast
    from ratecard.include import read_program
    from ratecard.resources import rules_dir
    program = read_program(rules_dir() / "emr-starrocks-ai-function.rules")
    book = program.root_file.all(ast.Book)[0]
    model = book.all(ast.Model)[0]
    row = model.tables[0].rows[1]
    assert (row.span.line, row.bounds.lower.span.column) == (24, 7)
    assert row.rates[1].prices[0].amount.text == "0.003442"
