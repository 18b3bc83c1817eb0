"""The grammar is conflict-free LALR, and syntax errors speak plainly."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


# --- the quick pass reads valid text exactly as Lark's own lexer and parser do ---------------------

def parse_both(text: str):
    """The AST by the quick pass and by Lark alone (None where one does not parse)."""
    from lark.exceptions import UnexpectedInput

    from ratecard import parse as parsing
    from ratecard.lexer import NotReadable
    results = []
    with parsing._PARSING:
        for parse_with in (parsing.quick_parser().parse, parser().parse):
            parsing._BUILDER.start_file("t.rules")
            try:
                results.append(parse_with(text))
            except (NotReadable, UnexpectedInput):
                results.append(None)
    return results


def test_the_quick_pass_runs_with_this_lark():
    from ratecard.parse import quick_parser
    assert quick_parser() is not None, "Lark keeps its parse tables elsewhere now: see parse.quick_parser"


def test_the_quick_pass_reads_every_shipped_book_and_case_as_lark_does():
    from pathlib import Path

    from ratecard.resources import rules_dir
    files = [*rules_dir().glob("*.rules"), *(Path(__file__).parent / "rulecheck" / "cases").glob("*.rules")]
    for path in files:
        quick, standard = parse_both(path.read_text(encoding="utf-8"))
        assert quick == standard, path.name


WORDS = ["model", "T", "tokens", "token", "per", "not", "billed", "UTC", "UTC+8", "UTC-05:30", "2026-04-08",
         "2026-04-08T00:00+08:00", "128K", "-5", "0.5", "1M", "in", "=>", "<=", "<", "=", ",", "{", "}", "#c\n",
         "\"s\"", "x", "at", "requests", "from", "until", "effective", "Tx", "modelx", "2026", "-04", " ", "\n"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2000), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3)),
                min_size=1, max_size=3))
def test_the_quick_pass_never_reads_text_otherwise_than_lark(edits):
    from ratecard.resources import rules_dir
    text = (rules_dir() / "emr-serverless-spark-ai-center.rules").read_text(encoding="utf-8")
    for at, words in edits:
        at = min(at, len(text))
        text = text[:at] + " ".join(words) + text[at:]
    quick, standard = parse_both(text)
    assert quick is None or quick == standard
