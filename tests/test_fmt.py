"""`ratecard fmt` and `ratecard.fmt.format_text`: the canonical layout, and that it changes only whitespace."""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Mapping
from pathlib import Path

import attrs
import pytest
import ratecard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ratecard.cli.ratecard import main
from ratecard.errors import RulesError
from ratecard.fmt import format_text, read
from ratecard.resources import rules_dir
from ratecard.source import Span

TESTS = Path(__file__).parent
SHIPPED = sorted(rules_dir().glob("*.rules"))


def _parses(path: Path) -> bool:
    try:
        read(path.read_text(encoding="utf-8"), str(path))
    except RulesError:
        return False
    return True


def _loads(path: Path) -> bool:
    try:
        ratecard.loads(path.read_text(encoding="utf-8"), str(path), path.parent)
    except RulesError:
        return False
    return True


# Every book of the project that parses (the error cases of tests/rulecheck too: most of them parse).
PARSED = [*SHIPPED, *(p for p in sorted(TESTS.rglob("*.rules")) if _parses(p))]
LOADED = [p for p in PARSED if _loads(p)]

# What the books above do not write: titles of models and quotas, a place in quotes, `price per token`, a book's
# dates, a region inside a book, an open tier, a rate table for two places with dates, and empty blocks.
SINK = """\
book sink "Every construct" {
  source "a \\"quoted\\" source # not a comment"
  currency USD
  price per token
  cycle daily in UTC
  round 2 half-even
  effective from 2026-01-01 until 2027-01-01T00:00:00Z
  region r-1   "R One"
  region r-2   "R Two", "Two"
  group both = r-1, r-2
  trial until 2026-02-01
  model m "The model" {
    tier by input tokens per request
    r-1, r-2 effective from 2026-01-01 {
      0 < T <= 1K   input 0.5   output 1
      1K < T        input 0.4   output not billed
    }
  }
  model empty {
  }
  quota q "Quota" {
    free 10 tokens per account
    window 2 days from first use
    consume output, input
  }
  quota none {
  }
  example "in quotes" {
    "R One" m input 10 output 1 requests 2 at 2026-03-01T00:00+00:00  =>  USD 12
  }
}
"""


def shape(value):
    """A compiled book's content as plain values, spans left out: formatting moves lines and columns."""
    if isinstance(value, Span):
        return None
    if attrs.has(type(value)):
        return type(value).__name__, tuple((f.name, shape(getattr(value, f.name))) for f in attrs.fields(type(value)))
    if isinstance(value, Mapping):
        return tuple((shape(k), shape(v)) for k, v in value.items())
    if isinstance(value, (tuple, list)):
        return tuple(shape(v) for v in value)
    if isinstance(value, frozenset):
        return frozenset(shape(v) for v in value)
    return value


def compiled(text: str, path: Path):
    return shape(ratecard.loads(text, str(path), path.parent))


def comment_texts(text: str) -> list[str]:
    return [c.text for c in read(text)[1].comments()]


def test_shape_sees_a_changed_price_and_not_a_moved_line():
    path = rules_dir() / "emr-starrocks-ai-function.rules"
    text = path.read_text(encoding="utf-8")
    assert compiled("\n\n" + text.replace("output 0.003442", "output   0.003442"), path) == compiled(text, path)
    assert compiled(text.replace("output 0.003442", "output 0.003443"), path) != compiled(text, path)


# --- the project's books ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_books_are_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", sorted(TESTS.joinpath("books").glob("*.rules")), ids=lambda p: p.name)
def test_the_test_books_are_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", PARSED, ids=lambda p: p.name)
def test_every_book_formats_idempotently_to_the_same_tokens_and_comments(path):
    text = path.read_text(encoding="utf-8")
    once = format_text(text, str(path))
    assert format_text(once, str(path)) == once
    assert [t.value for t in read(once)[1].tokens] == [t.value for t in read(text)[1].tokens]
    assert comment_texts(once) == comment_texts(text)


@pytest.mark.parametrize("path", LOADED, ids=lambda p: p.name)
def test_every_loadable_book_compiles_to_the_same_book_formatted(path):
    text = path.read_text(encoding="utf-8")
    assert compiled(format_text(text, str(path)), path) == compiled(text, path)


def test_the_books_that_load_are_the_ones_expected():
    """The corpus the properties run over: the shipped books, the test book and the error cases that load."""
    assert {p.name for p in LOADED} >= {"emr-starrocks-ai-function.rules", "emr-serverless-spark-ai-center.rules",
                                        "dated-days-quota.rules", "R032-example-mismatch.rules"}


# --- mutated books: only whitespace and comments change ----------------------------------------------

BLANKS = [" ", "  ", "\t", "\n", "\n\n", "\n      ", "   \n\n\n  ", " \t \n "]


def mutated(text: str, random) -> str:
    """`text` with the blanks between its tokens scrambled and comments put in (or moved) between them."""
    lexed = read(text)[1]
    tokens, parts = lexed.tokens, []
    for index in range(len(tokens) + 1):
        comments = [c.text for c in lexed.gaps.get(index, ())]
        if random.random() < 0.1:
            comments.insert(random.randint(0, len(comments)), f'# note {index}: {{ "not a string" }} # <= 1K')
        parts.append(random.choice(BLANKS))
        for comment in comments:
            parts += [comment, "\n", random.choice(BLANKS)]
        if index < len(tokens):
            parts.append(tokens[index].value)
    return "".join(parts)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([*PARSED, None]), st.randoms(use_true_random=False))
def test_a_mutated_book_formats_idempotently_keeping_its_comments_and_its_meaning(path, random):
    text = SINK if path is None else path.read_text(encoding="utf-8")
    messy = mutated(text, random)
    once = format_text(messy, str(path))
    assert format_text(once, str(path)) == once
    assert comment_texts(once) == comment_texts(messy)
    if path is None:
        assert [t.value for t in read(once)[1].tokens] == [t.value for t in read(text)[1].tokens]
    elif path in LOADED:
        assert compiled(once, path) == compiled(text, path)


def test_the_book_of_every_construct_is_formatted():
    assert format_text(SINK) == SINK


# --- the layout, by example ------------------------------------------------------------------------

MESSY = """\
  # A messy book.
region r-1 "R One","One"   # first region
   region long-region-2    "Long Two"


book messy   "Messy"{ currency USD ,EUR
price per 1K tokens   cycle hourly in UTC+8
round 6 half-up
group all = r-1,long-region-2
model m {   tier by input tokens per request
all {
0<T<=1K input 0.5,EUR 0.4 output 1.5,EUR 1.2 # cheap
1K<T<=128K input 0.75   output 2.25

}
}
  model flat-a { r-1 { input 0.1 output not billed } long-region-2 { input 0.25 output 0.5 } }



quota q { free 1K tokens per account window 1 month from first use consume input,output }
example "one call" { r-1 m input 1000 output 0 => USD 0.5 }
}
"""

# Written by hand, and checked by eye against docs/fmt.md.
MESSY_FORMATTED = """\
# A messy book.
region r-1             "R One", "One"  # first region
region long-region-2   "Long Two"

book messy "Messy" {
  currency USD, EUR
  price per 1K tokens
  cycle hourly in UTC+8
  round 6 half-up
  group all = r-1, long-region-2
  model m {
    tier by input tokens per request
    all {
      0 < T <= 1K      input 0.5, EUR 0.4   output 1.5, EUR 1.2  # cheap
      1K < T <= 128K   input 0.75           output 2.25
    }
  }
  model flat-a {
    r-1             { input 0.1    output not billed }
    long-region-2   { input 0.25   output 0.5 }
  }

  quota q {
    free 1K tokens per account
    window 1 month from first use
    consume input, output
  }
  example "one call" {
    r-1 m input 1000 output 0  =>  USD 0.5
  }
}
"""


def test_a_messy_book_formats_as_written_by_hand():
    assert format_text(MESSY) == MESSY_FORMATTED
    assert shape(ratecard.loads(MESSY_FORMATTED)) == shape(ratecard.loads(MESSY))


def test_group_members_go_four_to_a_line_aligned_after_the_equals_sign():
    text = 'book b {\n  group g = a1, a2, a3, a4, a5, a6, a7, a8, a9\n  group h = x1,  # the first\n y1, y2\n}\n'
    assert format_text(text) == ("book b {\n"
                                 "  group g = a1, a2, a3, a4,\n"
                                 "            a5, a6, a7, a8,\n"
                                 "            a9\n"
                                 "  group h = x1,  # the first\n"
                                 "            y1, y2\n"
                                 "}\n")


def test_a_comment_inside_a_row_ends_the_line_and_the_row_goes_on_in_its_columns():
    text = ("book b {\n model m {\n  r {\n   0 < T <= 1K input 1 # one\n output 2\n"
            "   1K < T <= 2K\n# own line\n input 3 output 4\n  }\n }\n}\n")
    assert format_text(text) == ("book b {\n"
                                 "  model m {\n"
                                 "    r {\n"
                                 "      0 < T <= 1K    input 1  # one\n"
                                 "                               output 2\n"
                                 "      1K < T <= 2K\n"
                                 "                     # own line\n"
                                 "                     input 3   output 4\n"
                                 "    }\n"
                                 "  }\n"
                                 "}\n")


def test_blank_lines_are_kept_one_at_most_and_none_after_an_opening_brace_or_before_a_closing_one():
    text = "\n\n# head\n\n\n\nbook b {\n\n\n  # first\n\n  currency USD\n\n\n\n  round 2 up\n\n  # last\n\n}\n\n\n# tail\n\n"
    assert format_text(text) == ("# head\n\nbook b {\n  # first\n\n  currency USD\n\n  round 2 up\n\n"
                                 "  # last\n}\n\n# tail\n")


def test_a_run_of_regions_or_tables_ends_at_a_blank_line():
    text = 'region a "A"\nregion bbbbbb "B"\n\nregion cc "C"\n'
    assert format_text(text) == 'region a        "A"\nregion bbbbbb   "B"\n\nregion cc   "C"\n'


def test_types_of_different_lengths_in_one_column_are_padded_so_the_prices_line_up():
    text = "book b { model m { r { 0 < T <= 1K input 1 output 2\n 1K < T <= 2K cached_input 3 output 4 } } }"
    assert format_text(text).splitlines()[3:5] == [
        "      0 < T <= 1K    input        1   output 2",
        "      1K < T <= 2K   cached_input 3   output 4"]


def test_literals_are_written_as_in_the_source():
    text = 'book b "t \\" #" {\n  price per 1000 tokens\n  model m { r { input 0.000480, CNY 3.60 } }\n}\n'
    formatted = format_text(text)
    assert 'book b "t \\" #" {' in formatted and "1000 tokens" in formatted and "0.000480, CNY 3.60" in formatted
    assert comment_texts(formatted) == []


def test_names_the_lexer_alone_would_split_are_kept_whole():
    """Regression: a name that starts like a time zone (UTCx, UTC-5a) is one token where the parser reads a name;
    a lexer with every terminal at once reads `UTC` and then a name, and would have written `UTC x`."""
    text = "book b {\n  group g = UTCx, UTC-5a\n  cycle hourly in UTC-5\n}\n"
    assert format_text(text) == text


def test_an_empty_or_comment_only_file():
    assert format_text("") == ""
    assert format_text("\n  \n") == ""
    assert format_text("  # only a comment   \r\n") == "# only a comment\n"


def test_a_file_that_does_not_parse_raises_its_diagnostics():
    with pytest.raises(RulesError) as raised:
        format_text("book b {\n  currency\n}\n", "broken.rules")
    assert [(d.code, str(d.span)) for d in raised.value.diagnostics] == [("R001", "broken.rules:3:1")]
    assert "broken.rules" in raised.value.sources


# --- the command -------------------------------------------------------------------------------------

def fmt(*args: str) -> int:
    return main(["fmt", *args])


def test_fmt_rewrites_the_unformatted_files_of_a_directory_tree_and_names_them(tmp_path, capsys):
    tidy, messy = tmp_path / "tidy.rules", tmp_path / "sub" / "deeper" / "messy.rules"
    messy.parent.mkdir(parents=True)
    tidy.write_text(MESSY_FORMATTED)
    messy.write_text(MESSY)
    (tmp_path / "sub" / "notes.txt").write_text(MESSY)
    messy.chmod(0o640)
    tidy_written = tidy.stat().st_mtime_ns
    assert fmt(str(tmp_path)) == 0
    assert capsys.readouterr().out == f"{messy}\n"
    assert messy.read_text() == MESSY_FORMATTED and (tmp_path / "sub" / "notes.txt").read_text() == MESSY
    assert messy.stat().st_mode & 0o777 == 0o640
    assert tidy.stat().st_mtime_ns == tidy_written  # a formatted file is not written again
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == [  # no temporary file left
        "sub", "sub/deeper", "sub/deeper/messy.rules", "sub/notes.txt", "tidy.rules"]
    assert fmt(str(tmp_path)) == 0 and capsys.readouterr().out == ""


def test_fmt_writes_through_a_link_to_the_file(tmp_path, capsys):
    real, link = tmp_path / "real.rules", tmp_path / "link.rules"
    real.write_text(MESSY)
    link.symlink_to(real.name)
    assert fmt(str(link)) == 0
    assert link.is_symlink() and real.read_text() == MESSY_FORMATTED


def test_check_names_the_files_that_would_change_and_writes_nothing(tmp_path, capsys):
    tidy, messy = tmp_path / "a.rules", tmp_path / "b.rules"
    tidy.write_text(MESSY_FORMATTED)
    messy.write_text(MESSY)
    assert fmt("--check", str(tmp_path)) == 1
    assert capsys.readouterr().out == f"{messy}\n"
    assert messy.read_text() == MESSY
    assert fmt("--check", str(tidy)) == 0 and capsys.readouterr().out == ""


def test_diff_shows_the_change_as_a_unified_diff_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "r.rules"
    path.write_text('region a  "A"\nregion bb "B"\n')
    assert fmt("--diff", str(path)) == 1
    assert capsys.readouterr().out == (f"--- a/{path}\n+++ b/{path}\n@@ -1,2 +1,2 @@\n"
                                       '-region a  "A"\n-region bb "B"\n+region a    "A"\n+region bb   "B"\n')
    assert path.read_text() == 'region a  "A"\nregion bb "B"\n'
    assert fmt("--check", "--diff", str(path)) == 1
    assert capsys.readouterr().out.startswith(f"{path}\n--- a/{path}\n")
    path.write_text('region a   "A"')  # formatted but for the last line break
    assert fmt("--diff", str(path)) == 1
    assert capsys.readouterr().out.endswith('-region a   "A"\n\\ No newline at end of file\n+region a   "A"\n')
    path.write_text('region a   "A"\n')
    assert fmt("--diff", str(path)) == 0 and capsys.readouterr().out == ""


def test_a_file_that_does_not_parse_is_left_alone_with_its_diagnostics(tmp_path, capsys):
    broken, messy = tmp_path / "broken.rules", tmp_path / "messy.rules"
    broken.write_bytes(b"book b {\n  currency\n}\n")
    messy.write_text(MESSY)
    assert fmt(str(broken), str(messy)) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{broken}:3:1: error[R001]: unexpected '}}': expected a name\n"
                                   "   3 | }\n       ^\n")
    assert captured.out == f"{messy}\n"
    assert broken.read_bytes() == b"book b {\n  currency\n}\n" and messy.read_text() == MESSY_FORMATTED


def test_standard_input_is_formatted_to_standard_output(monkeypatch, capsys):
    def stdin(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode())))

    stdin(MESSY)
    assert fmt("-") == 0 and capsys.readouterr().out == MESSY_FORMATTED
    stdin(MESSY_FORMATTED)
    assert fmt("-") == 0 and capsys.readouterr().out == MESSY_FORMATTED
    stdin(MESSY)
    assert fmt("--check", "-") == 1 and capsys.readouterr().out == "<stdin>\n"
    stdin("book b {\n")
    assert fmt("-") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("<stdin>:1:9: error[R001]: the file ends early")


def test_paths_that_cannot_be_read_or_written_are_named(tmp_path, capsys, monkeypatch):
    assert fmt(str(tmp_path / "missing.rules")) == 2
    assert capsys.readouterr().err == (f"ratecard: error[E501]: no such file or directory: {tmp_path}/missing.rules\n"
                                       "  help: pass .rules files, directories of them, or -\n")
    latin = tmp_path / "latin.rules"
    latin.write_bytes('region a "Québec"\n'.encode("latin-1"))
    assert fmt(str(latin)) == 2
    assert capsys.readouterr().err.startswith(f"ratecard: error[E500]: cannot read {latin}: it is not UTF-8 text")

    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("ratecard.cli.fmt.write_atomic", refuse)
    messy = tmp_path / "messy.rules"
    messy.write_text(MESSY)
    assert fmt(str(messy)) == 2
    assert capsys.readouterr().err.startswith(f"ratecard: error[E020]: cannot write {messy}: Permission denied\n")
    assert messy.read_text() == MESSY


def test_the_default_path_is_rules(tmp_path, capsys, monkeypatch):
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "messy.rules").write_text(MESSY)
    monkeypatch.chdir(tmp_path)
    assert fmt("--check") == 1 and capsys.readouterr().out == "rules/messy.rules\n"
    assert fmt("--check", str(rules_dir())) == 0


def test_the_example_of_the_documentation():
    blocks = re.findall(r"```rules\n(.*?)```", (TESTS.parent / "docs" / "fmt.md").read_text(encoding="utf-8"), re.DOTALL)
    before, after = blocks
    assert format_text(before) == after
    assert format_text(after) == after
    assert compiled(after, rules_dir() / "demo.rules") == compiled(before, rules_dir() / "demo.rules")


def test_formatting_needs_no_quick_parser(monkeypatch):
    """Where Lark's tables cannot be driven directly, Lark parses alone and hands over the same tokens."""
    monkeypatch.setattr("ratecard.parse.quick_parser", lambda: None)
    assert format_text(MESSY) == MESSY_FORMATTED
    with pytest.raises(RulesError):
        format_text("book b {\n")
