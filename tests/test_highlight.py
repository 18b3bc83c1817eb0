"""Highlighting: the Pygments lexer and the TextMate grammar over every shipped and test book.

The lexer must read every book back to its exact text with no Error token (the one stray `;` of
R001-stray-character aside, which is an error), give each grammar keyword as a keyword, and be
found through its entry point. The TextMate grammar is run by a small tokenizer with TextMate's
rule (the earliest match wins, the first listed on a tie) and must scope every character of every
book as the Pygments lexer classes it: two highlighters, one reading of the language.
"""

from __future__ import annotations

import json
import plistlib
import re
from pathlib import Path

import pygments
import pygments.lexers
import pytest
from pygments.formatters import NullFormatter
from pygments.token import Comment, Error, Keyword, Literal, Name, Number, Operator, Punctuation, String, Whitespace

from ratecard.check import CYCLE_PERIODS, ROUNDING_MODES, WINDOW_UNITS
from ratecard.highlight import RatecardLexer

ROOT = Path(__file__).resolve().parents[1]
GRAMMAR = ROOT / "grammar" / "ratecard.lark"
TEXTMATE = ROOT / "editors" / "vscode" / "syntaxes" / "ratecard.tmLanguage.json"
SUBLIME = ROOT / "editors" / "sublime" / "Ratecard.tmLanguage"
BOOKS = sorted([*ROOT.glob("rules/*.rules"), *ROOT.glob("tests/**/*.rules")])
BOOK_IDS = [str(path.relative_to(ROOT)) for path in BOOKS]
STRAY = "tests/rulecheck/cases/R001-stray-character.rules"


def grammar_literals() -> set[str]:
    """The quoted strings of the grammar's rules, read here independently of the lexer."""
    literals = set()
    for line in GRAMMAR.read_text().splitlines():
        if re.match(r"\s*(//|%|[A-Z_]+(\.\d+)?\s*:)", line):
            continue
        literals.update(re.findall(r'"([^"]+)"', line))
    return literals


def grammar_words() -> set[str]:
    return {literal for literal in grammar_literals() if literal.isalpha()}


def grammar_symbols() -> set[str]:
    return grammar_literals() - grammar_words()


def tokens(text: str) -> list[tuple[int, object, str]]:
    return list(RatecardLexer().get_tokens_unprocessed(text))


def kinds(text: str) -> list[tuple[object, str]]:
    return [(kind, value) for _, kind, value in tokens(text) if kind is not Whitespace]


def test_the_book_list_holds_the_shipped_books_and_the_error_cases():
    assert "rules/emr-starrocks-ai-function.rules" in BOOK_IDS and STRAY in BOOK_IDS
    assert len([b for b in BOOK_IDS if b.startswith("tests/rulecheck/cases/")]) >= 40


@pytest.mark.parametrize("path", BOOKS, ids=BOOK_IDS)
def test_every_book_tokenizes_back_to_its_text_without_errors(path):
    text = path.read_text()
    found = tokens(text)
    assert "".join(value for _, _, value in found) == text
    errors = [(at, value) for at, kind, value in found if kind in Error]
    if str(path.relative_to(ROOT)) == STRAY:  # `input 0.000480; output`: the only character no token starts with
        assert errors == [(text.index(";"), ";")]
    else:
        assert errors == []


def test_pygments_own_pipeline_keeps_the_text():
    text = (ROOT / "rules" / "emr-starrocks-ai-function.rules").read_text()
    lexer = RatecardLexer(stripnl=False, ensurenl=False)
    assert "".join(value for _, value in lexer.get_tokens(text)) == text
    assert pygments.highlight(text, lexer, NullFormatter()) == text


def test_every_grammar_keyword_is_a_keyword():
    words = grammar_words()
    assert {"book", "include", "tier", "billed", "requests", "token", "T"} <= words  # the reading above works
    for word in sorted(words - {"T"}):
        assert kinds(word) == [(Keyword, word)], word
    assert kinds("0 < T <= 128K") == [(Number.Integer, "0"), (Operator, "<"), (Keyword.Pseudo, "T"),
                                      (Operator, "<="), (Number.Integer, "128K")]
    assert kinds("T") == [(Name, "T")]  # only a bound's T is the keyword: elsewhere the parser reads a name


def test_every_grammar_symbol_is_an_operator_or_punctuation():
    assert {"{", ",", "<=", "=>"} <= grammar_symbols()  # the reading above works
    for symbol in grammar_symbols():
        assert kinds(symbol) in ([(Operator, symbol)], [(Punctuation, symbol)]), symbol
        assert any(scope.startswith(("keyword.operator.", "punctuation.")) for scope in scope_text(symbol)[0])
        assert len({tuple(scopes) for scopes in scope_text(symbol)}) == 1  # one token, not two


def test_token_classes_of_a_book():
    text = '''# prices in USD
region us-east-1 "US (Virginia)", "US"
book b "A \\"quoted\\" title" {
  cycle hourly in UTC+8
  round 6 half-up
  effective from 2026-01-01T00:00+08:00
  group intl = us-east-1
  model qwen-plus { intl { 0 < T <= 1M input 0.5, EUR 0.4 cached not billed } }
  quota first-month-free { window 1 month from first use }
  example "x" { intl qwen-plus input 750 => USD 0.000389 }
}
'''
    got = kinds(text)
    assert got[:12] == [
        (Comment.Single, "# prices in USD"),
        (Keyword, "region"), (Name.Constant, "us-east-1"),
        (String.Double, '"'), (String.Double, "US (Virginia)"), (String.Double, '"'), (Punctuation, ","),
        (String.Double, '"'), (String.Double, "US"), (String.Double, '"'),
        (Keyword, "book"), (Name.Class, "b"),
    ]
    assert (String.Escape, '\\"') in got
    expected_in_order = [
        (Keyword, "cycle"), (Name.Builtin, "hourly"), (Keyword, "in"), (Keyword.Constant, "UTC+8"),
        (Keyword, "round"), (Number.Integer, "6"), (Name.Builtin, "half-up"),
        (Keyword, "effective"), (Keyword, "from"), (Literal.Date, "2026-01-01T00:00+08:00"),
        (Keyword, "group"), (Name.Variable, "intl"), (Operator, "="), (Name, "us-east-1"),
        (Keyword, "model"), (Name.Class, "qwen-plus"), (Punctuation, "{"), (Name, "intl"),
        (Name.Attribute, "input"), (Number.Float, "0.5"), (Punctuation, ","), (Keyword.Type, "EUR"),
        (Number.Float, "0.4"), (Name.Attribute, "cached"), (Keyword, "not"), (Keyword, "billed"),
        (Keyword, "quota"), (Name.Label, "first-month-free"),
        (Keyword, "window"), (Number.Integer, "1"), (Name.Builtin, "month"), (Keyword, "from"),
        (Keyword, "first"), (Keyword, "use"),
        (Name.Attribute, "input"), (Number.Integer, "750"), (Operator, "=>"), (Keyword.Type, "USD"),
        (Number.Float, "0.000389"),
    ]
    position = 0
    for item in expected_in_order:
        position = got.index(item, position) + 1


def test_what_is_not_a_token():
    assert kinds("cycle hourlyy in UTC+8") == [(Keyword, "cycle"), (Name, "hourlyy"), (Keyword, "in"),
                                               (Keyword.Constant, "UTC+8")]  # a misspelt setting is no builtin
    assert kinds('source "unclosed') == [(Keyword, "source"), (Error, '"'), (Name, "unclosed")]
    assert kinds("input 0.5;") == [(Name.Attribute, "input"), (Number.Float, "0.5"), (Error, ";")]


def test_the_entry_point_finds_the_lexer():
    assert isinstance(pygments.lexers.get_lexer_by_name("ratecard"), RatecardLexer)
    assert isinstance(pygments.lexers.get_lexer_by_name("rules"), RatecardLexer)
    assert pygments.lexers.find_lexer_class_for_filename("x.rules") is RatecardLexer
    assert isinstance(pygments.lexers.get_lexer_for_filename("rules/x.rules"), RatecardLexer)


# --- the TextMate grammar --------------------------------------------------------------------------

def textmate() -> dict:
    return json.loads(TEXTMATE.read_text())


def leaf_rules(grammar: dict) -> list[dict]:
    """The grammar's top-level rules in order, includes resolved."""
    def expand(rule: dict) -> list[dict]:
        if "include" in rule:
            return expand(grammar["repository"][rule["include"].removeprefix("#")])
        if "patterns" in rule and "begin" not in rule:
            return [leaf for inner in rule["patterns"] for leaf in expand(inner)]
        return [rule]
    return [leaf for rule in grammar["patterns"] for leaf in expand(rule)]


def every_regex(node) -> list[str]:
    if isinstance(node, dict):
        own = [value for key, value in node.items() if key in ("match", "begin", "end")]
        return own + [regex for key, value in node.items() if key not in ("match", "begin", "end")
                      for regex in every_regex(value)]
    if isinstance(node, list):
        return [r for item in node for r in every_regex(item)]
    return []


def scope_text(text: str) -> list[list[str]]:
    """The scopes of each character of `text`, outermost first, as a TextMate engine gives them."""
    rules = leaf_rules(textmate())
    compiled = [{**rule, **{k: re.compile(rule[k]) for k in ("match", "begin", "end") if k in rule}}
                for rule in rules]
    scopes: list[list[str]] = [[] for _ in text]
    inside = None  # the begin/end rule we are in
    offset = 0
    for line in text.splitlines(keepends=True):
        pos = 0
        while pos < len(line):
            if inside is not None:
                candidates = [({"match": inside["end"], "captures": inside.get("endCaptures", {})}, True)] + [
                    ({**r, "match": re.compile(r["match"])}, False) for r in inside.get("patterns", [])]
                base = [inside["name"]]
            else:
                candidates = [(rule, False) for rule in compiled]
                base = []
            best = None
            for rule, ends in candidates:
                pattern = rule.get("match") or rule["begin"]
                found = pattern.search(line, pos)
                if found and (best is None or found.start() < best[0].start()):
                    best = (found, rule, ends)
            stop = best[0].start() if best else len(line)
            for at in range(pos, stop):  # inside a string: what no inner rule matched has the string's scope
                scopes[offset + at] = list(base)
            if best is None:
                break
            found, rule, ends = best
            names = base + ([rule["name"]] if "name" in rule and not ends else [])
            captures = rule.get("captures") or rule.get("beginCaptures") or {}
            for at in range(found.start(), found.end()):
                scopes[offset + at] = list(names)
            for group, capture in captures.items():
                if found.group(int(group)) is not None:
                    for at in range(found.start(int(group)), found.end(int(group))):
                        scopes[offset + at].append(capture["name"])
            if ends:
                inside = None
            elif "begin" in rule:
                inside = rule
            pos = max(found.end(), pos + 1)
        offset += len(line)
    return scopes


# Each Pygments token class and the scope a TextMate theme colours it by.
SCOPE_OF = {
    Keyword: "keyword.control.ratecard", Keyword.Pseudo: "keyword.other.bound.ratecard",
    Keyword.Type: "support.type.currency.ratecard", Keyword.Constant: "constant.language.timezone.ratecard",
    Name.Class: "entity.name.type.", Name.Label: "entity.name.label.quota.ratecard",
    Name.Constant: "variable.other.constant.region.ratecard", Name.Variable: "variable.other.group.ratecard",
    Name.Attribute: "entity.other.attribute-name.token-type.ratecard",
    Name.Builtin: "support.constant.setting.ratecard", Name: "variable.other.ratecard",
    Literal.Date: "constant.other.datetime.ratecard", Number.Float: "constant.numeric.decimal.ratecard",
    Number.Integer: "constant.numeric.integer.ratecard", String.Double: "string.quoted.double.ratecard",
    String.Escape: "constant.character.escape.ratecard", Comment.Single: "comment.line.number-sign.ratecard",
    Operator: "keyword.operator.", Punctuation: "punctuation.", Error: "invalid.illegal.ratecard",
}


def test_textmate_grammar_is_valid_and_its_regexes_are_the_common_subset():
    grammar = textmate()
    assert grammar["scopeName"] == "source.ratecard" and grammar["fileTypes"] == ["rules"]
    regexes = every_regex(grammar)
    assert len(regexes) >= 20
    for regex in regexes:
        re.compile(regex)
        # Oniguruma-only syntax Python would read otherwise or refuse: keep to what both engines share.
        assert not re.search(r"\\[hHGAzZ]|\(\?<[A-Za-z]|\(\?[imx]", regex), regex


def test_textmate_keywords_are_the_grammars():
    keyword_rule = textmate()["repository"]["keyword"]["match"]
    listed = set(re.search(r"\(\?:([a-z|]+)\)", keyword_rule).group(1).split("|"))
    assert listed == grammar_words() - {"T"}
    assert textmate()["repository"]["bound"]["match"].count("(T)") == 1
    settings = json.dumps(textmate()["repository"]["setting"])
    for word in CYCLE_PERIODS + ROUNDING_MODES + WINDOW_UNITS:
        assert f"|{word}|" in settings or f"({word}|" in settings or f"|{word})" in settings, word


@pytest.mark.parametrize("path", BOOKS, ids=BOOK_IDS)
def test_textmate_scopes_every_book_as_pygments_classes_it(path):
    text = path.read_text()
    scopes = scope_text(text)
    seen = set()
    for at, kind, value in tokens(text):
        for index in range(at, at + len(value)):
            where = f"{path.name} offset {index} {text[index]!r} ({kind}): {scopes[index]}"
            if kind is Whitespace:
                assert scopes[index] == [], where
                continue
            assert any(scope.startswith(SCOPE_OF[kind]) for scope in scopes[index]), where
            seen.add(kind)
    assert {Keyword, String.Double} <= seen


def test_textmate_scopes_the_token_classes():
    text = '# c\nbook b "t" {\n  cycle daily in UTC-05:30\n  x { 0 < T input 1.5K }\n}\n'
    scopes = scope_text(text)
    def at(fragment: str) -> list[str]:
        return scopes[text.index(fragment)]
    assert at("# c") == ["comment.line.number-sign.ratecard", "punctuation.definition.comment.ratecard"]
    assert at("book") == ["keyword.control.ratecard"] and at("b \"") == ["entity.name.type.book.ratecard"]
    assert at('"t"') == ["string.quoted.double.ratecard", "punctuation.definition.string.begin.ratecard"]
    assert at("daily") == ["support.constant.setting.ratecard"]
    assert at("UTC") == ["constant.language.timezone.ratecard"]
    assert at("T input") == ["keyword.other.bound.ratecard"]
    assert at("1.5K") == ["constant.numeric.decimal.ratecard"]
    assert at("input") == ["entity.other.attribute-name.token-type.ratecard"]


def test_sublime_grammar_is_the_vscode_one():
    grammar = textmate()
    del grammar["$schema"]
    assert plistlib.loads(SUBLIME.read_bytes()) == grammar, "regenerate it: see docs/editors.md, Sublime Text"


def test_vscode_manifest_points_at_the_grammar():
    folder = TEXTMATE.parents[1]
    manifest = json.loads((folder / "package.json").read_text())
    [language] = manifest["contributes"]["languages"]
    [grammar] = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".rules"] and grammar["language"] == language["id"] == "ratecard"
    assert (folder / grammar["path"]).resolve() == TEXTMATE
    assert grammar["scopeName"] == textmate()["scopeName"]
    configuration = json.loads((folder / language["configuration"]).read_text())
    assert configuration["comments"]["lineComment"] == "#"
    assert re.fullmatch(configuration["wordPattern"], "cn-hangzhou") and re.fullmatch(configuration["wordPattern"], "128K")


def test_the_documented_pygmentize_commands(capsys, tmp_path):
    from pygments.cmdline import main as pygmentize
    book = str(ROOT / "rules" / "emr-starrocks-ai-function.rules")
    assert pygmentize(["pygmentize", "-N", book]) == 0
    assert capsys.readouterr().out == "ratecard\n"
    out = tmp_path / "book.html"
    assert pygmentize(["pygmentize", "-l", "ratecard", "-f", "html", "-O", "full,style=friendly", "-o", str(out),
                       book]) == 0
    assert '<span class="k">book</span>' in out.read_text() and 'class="err"' not in out.read_text()


def test_the_documented_code_block_highlights():
    docs = (ROOT / "docs" / "editors.md").read_text()
    block = docs.split("```ratecard\n", 1)[1].split("```", 1)[0]
    assert "tier by input tokens per request" in block
    assert not [value for _, kind, value in tokens(block) if kind in Error]


def test_names_in_the_wild_and_rate_units_highlight_whole():
    """`@cf/...` (Cloudflare) and `~...` (OpenRouter) IDs are one name; a rate's unit follows its price."""
    text = ("model @cf/meta/llama-3.1-8b-instruct { alias ~meta/llama-latest\n"
            "  cf { input 0.282   web 10 per 1K searches } }\n")
    got = kinds(text)
    assert got[:5] == [(Keyword, "model"), (Name.Class, "@cf/meta/llama-3.1-8b-instruct"), (Punctuation, "{"),
                       (Keyword, "alias"), (Name, "~meta/llama-latest")]
    assert [(Name.Attribute, "web"), (Number.Integer, "10"), (Keyword, "per"), (Number.Integer, "1K")] == got[9:13]
    scopes = scope_text(text)
    assert scopes[text.index("@cf")] == scopes[text.index("llama-3.1")] == ["entity.name.type.model.ratecard"]
