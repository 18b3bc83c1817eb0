"""The language server over the real protocol (pygls' client driving `ratecard lsp` on stdio), and the
pure answers behind it (`ratecard.lookup`).

Positions in the protocol are 0-based; the spans and columns quoted in the comments are the 1-based ones
`rulecheck` prints. Every expected text is checked by hand against rules/emr-starrocks-ai-function.rules.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import textwrap
import tomllib
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path
from ratecard.cli.ratecard import main
from ratecard.fmt import format_text
from ratecard.lookup import Vocabulary, analyze_buffer, completions, definition, hover, symbol_at
from ratecard.resources import rules_dir

pytestmark = pytest.mark.xdist_group("lsp")  # one worker: its module fixtures start once

BOOK = rules_dir() / "emr-starrocks-ai-function.rules"
REGIONS = rules_dir() / "alibaba-regions.rules"
TEXT = BOOK.read_text(encoding="utf-8")
URI = from_fs_path(str(BOOK))
REGIONS_URI = from_fs_path(str(REGIONS.resolve()))
TIMEOUT = 10  # seconds: a bound on a hung server, never an assertion about speed

# Where things stand in the book (1-based line, column): checked by hand.
INTERNATIONAL_INPUT = (28, 32)  # `0.000480` in `0 < T <= 256K   input 0.000480   output 0.001440`
INTERNATIONAL_HEAD = (27, 5)  # `international {`
INTERNATIONAL_GROUP = (16, 3)  # `group international = ...`
US_EAST_IN_GROUP = (16, 68)  # `us-east-1` in the international group
US_EAST_DECLARED = (15, 1)  # `region us-east-1 ...` in alibaba-regions.rules
UPPER_256K = (28, 16)  # `256K` in the first international row
INCLUDE = (5, 10)  # the string of `include "alibaba-regions.rules"`

INTERNATIONAL_RATE_HOVER = """\
**qwen-plus** `input` tokens, international tier 1 of 2

USD 0.000480 per 1K tokens = **USD 0.00000048 per token**

Tier: `0 < T <= 256000` input tokens per request (written `0 < T <= 256K`)

Applies to group international: ap-southeast-1, cn-hongkong, eu-central-1, us-east-1, us-west-1, ap-northeast-1, \
ap-southeast-5, na-south-1"""


# --- over the protocol ------------------------------------------------------------------------------

class Session:
    """One server for the module, driven from a private event loop (no pytest-asyncio needed)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = LanguageClient("ratecard-tests", "1")
        self.diagnostics: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.arrived = asyncio.Event()
        self.version = 1

        @self.client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def published(params: types.PublishDiagnosticsParams) -> None:
            self.diagnostics.setdefault(params.uri, []).append(params)
            self.arrived.set()

        self.run(self._start())

    def run(self, awaitable):
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, TIMEOUT))

    async def _start(self) -> None:
        await self.client.start_io(sys.executable, "-m", "ratecard.cli.ratecard", "lsp")
        await self.client.initialize_async(types.InitializeParams(
            process_id=None, root_uri=from_fs_path(str(rules_dir())), capabilities=types.ClientCapabilities()))
        self.client.initialized(types.InitializedParams())

    def open(self, text: str = TEXT) -> list[types.Diagnostic]:
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=URI, language_id="ratecard", version=self.version, text=text)))
        return list(self.run(self._published(URI, self.version)))

    def change(self, text: str) -> list[types.Diagnostic]:
        self.version += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=self.version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        return list(self.run(self._published(URI, self.version)))

    async def _published(self, uri: str, version: int) -> list[types.Diagnostic]:
        while True:
            found = [p for p in self.diagnostics.get(uri, []) if p.version == version]
            if found:
                return list(found[-1].diagnostics)
            self.arrived.clear()
            await self.arrived.wait()

    def position(self, line: int, column: int) -> dict:
        return {"text_document": types.TextDocumentIdentifier(uri=URI),
                "position": types.Position(line=line - 1, character=column - 1)}

    def hover(self, line: int, column: int) -> types.Hover | None:
        return self.run(self.client.text_document_hover_async(types.HoverParams(**self.position(line, column))))

    def definition(self, line: int, column: int):
        return self.run(self.client.text_document_definition_async(
            types.DefinitionParams(**self.position(line, column))))

    def completion(self, line: int, column: int) -> list[str]:
        found = self.run(self.client.text_document_completion_async(
            types.CompletionParams(**self.position(line, column))))
        return [item.label for item in found.items]

    def formatting(self) -> list[types.TextEdit]:
        return list(self.run(self.client.text_document_formatting_async(types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True)))))

    def close(self) -> None:
        self.run(self.client.shutdown_async(None))
        self.client.exit(None)
        self.run(self.client.stop())
        self.loop.close()


@pytest.fixture(scope="module")
def server():
    session = Session()
    assert session.open() == []  # the shipped book, with its include, is clean
    yield session
    session.close()


@pytest.fixture
def book(server):
    """The server's buffer holds the shipped book, as it is on disk, before and after each test."""
    server.change(TEXT)
    yield server
    assert server.change(TEXT) == []


def _range(start: tuple[int, int], end: tuple[int, int]) -> types.Range:
    return types.Range(start=types.Position(line=start[0], character=start[1]),
                       end=types.Position(line=end[0], character=end[1]))


def test_an_unknown_region_is_reported_as_you_type_at_its_0_based_range(book):
    # line 16 `  group international = ap-southeast-1, cn-hongkong, eu-central-1, us-east-9,`: columns 68-76
    (found,) = book.change(TEXT.replace("eu-central-1, us-east-1,", "eu-central-1, us-east-9,"))
    assert (found.code, found.severity, found.source) == ("R010", types.DiagnosticSeverity.Error, "ratecard")
    assert found.range == _range((15, 67), (15, 76))
    assert found.message == "unknown region 'us-east-9' in group 'international'\nhelp: did you mean 'us-east-1'?"


def test_a_tier_gap_is_reported_on_the_row_that_starts_late(book):
    (found,) = book.change(TEXT.replace("128K < T <= 256K", "129K < T <= 256K"))
    assert found.code == "R020"
    assert found.range == _range((23, 6), (23, 22))  # `129K < T <= 256K` on line 24, columns 7-22


def test_a_syntax_error_in_an_included_file_goes_to_that_file(tmp_path, server):
    (tmp_path / "regions.rules").write_text('region us-east-1 "US (Virginia)"\nregion oops\n', encoding="utf-8")
    book = tmp_path / "book.rules"
    text = TEXT.replace('include "alibaba-regions.rules"', 'include "regions.rules"')
    uri, regions_uri = from_fs_path(str(book)), from_fs_path(str(tmp_path / "regions.rules"))
    server.client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
        uri=uri, language_id="ratecard", version=1, text=text)))
    server.run(server._published(uri, 1))
    (found,) = server.run(server._published(regions_uri, None))
    assert found.code == "R001"
    assert found.range == _range((1, 11), (1, 12))  # just after `region oops`, on line 2
    assert found.message == "the file ends early: expected a quoted string\nhelp: is a closing '}' missing?"
    server.client.text_document_did_close(types.DidCloseTextDocumentParams(
        text_document=types.TextDocumentIdentifier(uri=uri)))


def test_hover_on_a_rate_shows_its_exact_price_per_token_and_integer_bounds(book):
    found = book.hover(*INTERNATIONAL_INPUT)
    assert found.contents.kind == types.MarkupKind.Markdown
    assert found.contents.value == INTERNATIONAL_RATE_HOVER
    assert found.range == _range((27, 31), (27, 39))


def test_hover_on_a_bound_shows_the_integer(book):
    assert book.hover(*UPPER_256K).contents.value.startswith("`256K` = 256000 input tokens per request\n")


def test_hover_on_nothing_in_particular_is_empty(book):
    assert book.hover(1, 1) is None  # a comment
    assert book.hover(500, 3) is None  # beyond the end


def test_definition_of_a_group_in_a_table_head_is_its_group_statement(book):
    found = book.definition(*INTERNATIONAL_HEAD)
    assert found.uri == URI
    assert found.range.start == types.Position(line=15, character=2)


def test_definition_of_a_region_in_a_group_is_in_the_included_file(book):
    found = book.definition(*US_EAST_IN_GROUP)
    assert found.uri == REGIONS_URI
    assert found.range.start == types.Position(line=14, character=0)


def test_definition_of_an_include_is_the_file(book):
    found = book.definition(*INCLUDE)
    assert (found.uri, found.range.start) == (REGIONS_URI, types.Position(line=0, character=0))


def test_completion_offers_region_ids_in_a_group_and_token_types_in_a_row(book):
    assert "us-east-1" in book.completion(16, 25)  # where `ap-southeast-1` starts
    assert book.completion(28, 26) == ["input", "output"]  # after `0 < T <= 256K   `


def test_formatting_a_formatted_book_changes_nothing_and_a_messy_one_is_one_edit(book):
    assert book.formatting() == []
    messy = TEXT.replace("  currency USD\n", "currency    USD\n")
    book.change(messy)
    (edit,) = book.formatting()
    assert edit.new_text == format_text(messy, str(BOOK)) == TEXT
    assert edit.range == _range((0, 0), (len(messy.splitlines()), 0))


def test_a_buffer_that_does_not_parse_keeps_the_server_answering(book):
    broken = TEXT.replace("model qwen-plus {", "model qwen-plus {{")
    assert [d.code for d in book.change(broken)] == ["R001", "R001"]
    assert book.formatting() == []
    assert book.hover(*INTERNATIONAL_INPUT) is None
    assert book.definition(*INTERNATIONAL_HEAD) is None
    assert "us-east-1" in book.completion(16, 25)  # the names of the last buffer that parsed


def test_without_pygls_the_command_says_how_to_install_it(monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pygls" else real(name, *a))
    assert main(["lsp"]) == 2
    assert capsys.readouterr().err == ("ratecard: error[E540]: ratecard lsp needs pygls, which is not installed\n"
                                       "  help: pip install 'ratecard[lsp]'\n")


# --- the answers behind it --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def analysis():
    return analyze_buffer(TEXT, BOOK)


def test_lookup_hover_on_a_rate_of_a_book_with_errors(analysis):
    # a failing example is an error found after compiling: the per-token price is there to show
    failing = analyze_buffer(TEXT.replace("USD 0.000389", "USD 0.000390"), BOOK)
    assert [d.code for d in failing.diagnostics] == ["R032"]
    assert hover(failing, *INTERNATIONAL_INPUT).text == INTERNATIONAL_RATE_HOVER
    broken = analyze_buffer(TEXT.replace("128K < T <= 256K", "129K < T <= 256K"), BOOK)
    assert broken.book is None  # a tier gap: nothing compiled, the price as written is all there is
    text = hover(broken, *INTERNATIONAL_INPUT).text
    assert ("USD 0.000480 per 1K tokens (the price per token is shown once the book checks without errors)"
            in text)


def test_lookup_hover_on_a_region_and_a_group(analysis):
    region = hover(analysis, *US_EAST_IN_GROUP).text
    assert region == "**region us-east-1**: US (Virginia), Virginia\n\nGroup: international"
    group = hover(analysis, 22, 5).text  # `china {`
    assert group.startswith("**group china**: 7 regions\n\n- `cn-beijing`: China (Beijing), Beijing\n")
    assert group.endswith("- `cn-wulanchabu`: China (Ulanqab), Ulanqab")


def test_lookup_hover_on_the_higher_tier_bounds(analysis):
    text = hover(analysis, 29, 19).text  # `1M` in `256K < T <= 1M`
    assert text == ("`1M` = 1000000 input tokens per request\n\n"
                    "qwen-plus, international tier 2: `256000 < T <= 1000000` input tokens per request "
                    "(written `256K < T <= 1M`)")


def test_lookup_symbol_at_takes_the_cursor_just_after_a_word(analysis):
    assert symbol_at(analysis.program, 16, 77).name.text == "us-east-1"  # just after `us-east-1`
    assert symbol_at(analysis.program, 16, 78) is None  # after the `,` that follows it


def test_lookup_definitions(analysis):
    assert str(definition(analysis.program, *INTERNATIONAL_HEAD)) == f"{BOOK}:16:3"
    region = definition(analysis.program, 41, 5)  # `us-east-1` in the example
    assert (Path(region.path).resolve(), region.line, region.column) == (REGIONS.resolve(), *US_EAST_DECLARED)
    assert definition(analysis.program, *INTERNATIONAL_INPUT) is None


def test_lookup_a_missing_include_has_no_definition():
    missing = analyze_buffer(TEXT.replace('"alibaba-regions.rules"', '"nope.rules"'), BOOK)
    assert [d.code for d in missing.diagnostics] == ["R002"]
    assert definition(missing.program, *INCLUDE) is None


def test_lookup_a_shared_regions_file_alone_has_only_its_syntax_checked():
    assert analyze_buffer(REGIONS.read_text(encoding="utf-8"), REGIONS).diagnostics == ()


@pytest.mark.parametrize(("before", "expected"), [
    ("", ["include", "region", "book"]),
    ("book b {\n  group g = us-east-1, ", "regions"),
    ("book b {\n  group g ", []),
    ("book b {\n  model m {\n    tier by ", ["input", "output", "cached"]),
    ("book b {\n  model m {\n    tier by input tokens per request\n    ", ["g", "regions", "tier", "alias"]),
    ("book b {\n  model m {\n    tier by input + ", ["input", "output", "cached"]),
    ("book b {\n  model m {\n    alias m-2024, ", []),
    ("book b {\n  model m {\n    alias m-2024, vendor/m\n    ", ["g", "regions", "tier", "alias"]),
    ("book b {\n  model m {\n    g {\n      0 < T <= 1K  input 1  ", ["input", "output", "cached"]),
    ('book b {\n  example "e" {\n    ', "regions"),
    ('book b {\n  example "e" {\n    us-east-1 ', ["m"]),
    ('book b {\n  example "e" {\n    us-east-1 m input 5 ', ["input", "output", "cached", "requests", "at"]),
    ('book b {\n  example "e" {\n    us-east-1 m input 5 => ', ["USD"]),
    ("book b {\n  quota q {\n    consume input, ", ["input", "output", "cached"]),
    ("book b {\n  quota q {\n    ", ["free", "window", "consume"]),
    ('book b {\n  # a comment { with a brace\n  group g = us-ea', "regions"),
])
def test_lookup_completions_by_context(before, expected):
    vocabulary = Vocabulary(regions=(("us-east-1", "US (Virginia)"), ("cn-beijing", "China (Beijing)")),
                            groups=("g",), models=("m",), token_types=("input", "output", "cached"),
                            currencies=("USD",))
    lines = before.split("\n")
    labels = [c.label for c in completions(before + "\n}", len(lines), len(lines[-1]) + 1, vocabulary)]
    regions = ["us-east-1", "cn-beijing"]
    if expected == "regions":
        assert labels == regions
    else:
        assert labels == [label for e in expected for label in (regions if e == "regions" else [e])]


def test_lookup_vocabulary_of_the_shipped_book(analysis):
    vocabulary = Vocabulary.of(analysis.program)
    assert [rid for rid, _ in vocabulary.regions][:2] == ["cn-beijing", "cn-shanghai"]
    assert len(vocabulary.regions) == 15
    assert dict(vocabulary.regions)["na-south-1"] == "Mexico (Queretaro), Mexico, Queretaro"
    assert (vocabulary.groups, vocabulary.models, vocabulary.token_types, vocabulary.currencies) == (
        ("china", "international"), ("qwen-plus",), ("input", "output"), ("USD",))


# --- docs/editors.md --------------------------------------------------------------------------------

def _language_server_section() -> str:
    text = (Path(__file__).parent.parent / "docs" / "editors.md").read_text(encoding="utf-8")
    return text.split("\n## Language server\n", 1)[1].split("\n## ", 1)[0]


def test_the_documented_hover_is_the_servers():
    block = _language_server_section().split("```text\n", 1)[1].split("```", 1)[0]
    assert textwrap.dedent(block).rstrip("\n") == INTERNATIONAL_RATE_HOVER


def test_the_documented_helix_configuration_starts_ratecard_lsp():
    block = _language_server_section().split("```toml\n", 1)[1].split("```", 1)[0]
    config = tomllib.loads(block)
    assert config["language-server"]["ratecard"] == {"command": "ratecard", "args": ["lsp"]}
    assert config["language"][0]["file-types"] == ["rules"]
