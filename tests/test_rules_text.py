"""Rules-file text as people really save it: a BOM, tabs, form feeds, Unicode line separators, an
include that cannot be read. Every diagnostic still points at the right line and character, and one
mistake gives one diagnostic."""

from __future__ import annotations

from pathlib import Path

import pytest

from ratecard.cli.render import diagnostic_text
from ratecard.include import read_program
from ratecard.loader import analyze, analyze_program
from ratecard.resources import rules_dir
from ratecard.source import Source, Span

STARROCKS = (rules_dir() / "emr-starrocks-ai-function.rules").read_text(encoding="utf-8")
REGIONS = (rules_dir() / "alibaba-regions.rules").read_text(encoding="utf-8")
BOM = b"\xef\xbb\xbf"


def write(folder: Path, name: str, text: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def rendered(analysis) -> str:
    return "\n".join(diagnostic_text(d, analysis.program.sources) for d in analysis.diagnostics)


def test_a_bom_at_the_start_of_a_book_is_accepted(tmp_path):
    path = write(tmp_path, "book.rules", BOM + STARROCKS.encode("utf-8"))
    analysis = analyze(path)
    assert analysis.diagnostics == () and analysis.book is not None


def test_a_bom_at_the_start_of_an_included_file_is_accepted(tmp_path):
    write(tmp_path, "alibaba-regions.rules", BOM + REGIONS.encode("utf-8"))
    analysis = analyze(write(tmp_path, "book.rules", STARROCKS))
    assert analysis.diagnostics == ()
    assert str(tmp_path / "alibaba-regions.rules") in {str(Path(p).resolve()) for p in analysis.program.sources}


def test_columns_after_a_bom_count_from_the_first_character(tmp_path):
    text = STARROCKS.replace("128K < T <= 256K", "128K < T <= 265K", 1)
    analysis = analyze(write(tmp_path, "book.rules", BOM + text.encode("utf-8")))
    (overlap,) = analysis.errors
    assert (overlap.span.line, overlap.span.column) == (25, 7)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\r"])
def test_unicode_line_separators_do_not_shift_excerpts(tmp_path, separator):
    # Lark counts lines by "\n" only; the excerpt must show the line it means, not a line further on.
    text = STARROCKS.replace("# E-MapReduce StarRocks", f"# E-MapReduce{separator}StarRocks", 1)
    text = text.replace("128K < T <= 256K", "128K < T <= 265K", 1)
    analysis = analyze(write(tmp_path, "book.rules", text))
    (overlap,) = analysis.errors
    excerpt = analysis.program.sources[overlap.span.path].excerpt(overlap.span)
    assert excerpt.splitlines()[0] == "  25 |       256K < T <= 1M     input 0.000827   output 0.008257"


def test_a_form_feed_between_statements_is_whitespace(tmp_path):
    text = STARROCKS.replace("  model qwen-plus", "\x0c\n  model qwen-plus", 1)
    assert analyze(write(tmp_path, "book.rules", text)).diagnostics == ()


def test_a_caret_after_tabs_sits_under_its_character():
    source = Source("t.rules", "book b {\n\t\tmodle x { }\n}\n")
    excerpt = source.excerpt(Span("t.rules", 2, 3, 2, 8))
    line, caret = excerpt.splitlines()
    assert line == "   2 | \t\tmodle x { }"
    assert caret == "       \t\t^^^^^"  # the same tabs as the line, so a terminal lines them up


def test_a_caret_after_wide_characters_counts_their_width():
    source = Source("t.rules", 'region x "华北 2" oops\n')
    excerpt = source.excerpt(Span("t.rules", 1, 17, 1, 21))
    caret = excerpt.splitlines()[1]
    assert caret.index("^") - len("   1 | ") == len('region x "') + 2 * 2 + len(' 2" ')


def test_control_characters_in_an_excerpt_do_not_break_the_line():
    source = Source("t.rules", "# a\u2028b\x0cc\nbook\n")
    line = source.excerpt(Span("t.rules", 1, 7, 1, 8)).splitlines()[0]
    assert line == "   1 | # a b c"


def test_the_end_of_file_error_points_at_the_last_line_whatever_the_separators():
    text = "book b {\n  currency USD # \u2028 comment\n"
    analysis = analyze_program(_program(text))
    (error,) = analysis.errors
    assert (error.span.line, error.span.column) == (2, len("  currency USD # \u2028 comment") + 1)


def _program(text: str):
    from ratecard.include import read_text_program
    return read_text_program(text, "t.rules", rules_dir())


# --- an include that cannot be read is one error ---------------------------------------------------

@pytest.mark.parametrize("make", ["missing", "not-utf8", "directory", "syntax-error"])
def test_an_unreadable_include_is_one_error_without_echoes(tmp_path, make):
    name = "alibaba-regions.rules"
    if make == "not-utf8":
        write(tmp_path, name, b"region cn-beijing \"\xff\"\n")
    elif make == "directory":
        (tmp_path / name).mkdir()
    elif make == "syntax-error":
        write(tmp_path, name, "region cn-beijing Beijing\n")
    text = STARROCKS.replace('include "alibaba-regions.rules"',
                             'include "alibaba-regionz.rules"' if make == "missing" else f'include "{name}"')
    analysis = analyze(write(tmp_path, "book.rules", text))
    assert len(analysis.errors) == 1, rendered(analysis)
    assert analysis.errors[0].code in ("R001", "R002")


def test_an_include_path_with_a_nul_character_is_one_error_not_a_crash(tmp_path):
    text = STARROCKS.replace('include "alibaba-regions.rules"', 'include "alibaba\x00regions.rules"')
    analysis = analyze(write(tmp_path, "book.rules", text))
    assert [d.code for d in analysis.errors] == ["R002"] and "NUL" in analysis.errors[0].message, rendered(analysis)


def test_an_include_that_is_a_directory_says_so(tmp_path):
    (tmp_path / "shared.rules").mkdir()
    analysis = analyze(write(tmp_path, "book.rules", 'include "shared.rules"\n' + STARROCKS))
    assert any(d.code == "R002" and "directory" in d.message for d in analysis.errors), rendered(analysis)


def test_an_unknown_region_is_still_reported_when_every_include_was_read(tmp_path):
    text = STARROCKS.replace("cn-qingdao,", "cn-qingdoa,", 1)
    analysis = analyze(write(tmp_path, "book.rules", text))
    assert [d.code for d in analysis.errors] == ["R010"]


# --- a worked example with a wrong amount points at the amount -------------------------------------

def test_a_wrong_example_amount_is_reported_at_the_amount(tmp_path):
    text = STARROCKS.replace("=>  USD 0.000389", "=>  USD 0.000390", 1)
    analysis = analyze(write(tmp_path, "book.rules", text))
    (mismatch,) = analysis.errors
    line = text.splitlines()[mismatch.span.line - 1]
    assert mismatch.code == "R032"
    assert line[mismatch.span.column - 1:mismatch.span.end_column - 1] == "USD 0.000390"


def test_an_example_in_an_unknown_region_is_reported_at_the_region(tmp_path):
    text = STARROCKS.replace("    us-east-1 qwen-plus input 750", "    us-east-2 qwen-plus input 750", 1)
    analysis = analyze(write(tmp_path, "book.rules", text))
    (error,) = analysis.errors
    line = text.splitlines()[error.span.line - 1]
    assert error.code == "R032" and line[error.span.column - 1:error.span.end_column - 1] == "us-east-2"


def test_explain_still_says_which_examples_fail(tmp_path, capsys):
    from ratecard.explain import explain
    text = STARROCKS.replace("=>  USD 0.000389", "=>  USD 0.000390", 1)
    analysis = analyze_program(read_program(write(tmp_path, "book.rules", text)))
    assert "FAILS: example 'US (Virginia), one ai_query() call' expects USD 0.000390" in explain(analysis.book)


def test_an_excerpt_of_a_very_long_line_shows_the_part_around_the_span():
    number = "0." + "1" * 100_000
    text = "book b {\n  model m { us-east-1 { input " + number + " output 1 } }\n}\n"
    column = text.splitlines()[1].index(number) + 1
    excerpt = Source("t.rules", text).excerpt(Span("t.rules", 2, column, 2, column + len(number)))
    line, caret = excerpt.splitlines()
    assert len(line) < 200 and line.endswith("...")
    assert line[caret.index("^"):].startswith("0.111")


def test_a_rules_file_with_a_huge_number_gives_a_short_report(tmp_path, capsys):
    from ratecard.cli.rulecheck import main
    path = write(tmp_path, "book.rules", STARROCKS.replace("input 0.000480", "input 0." + "1" * 100_000, 1))
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "error[R037]" in out and len(out) < 2_000
