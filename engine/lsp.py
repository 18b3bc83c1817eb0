"""The language server (`ratecard lsp`, the lsp extra): the language server protocol over pygls.

Takes an editor's requests on stdin and gives its answers on stdout:
diagnostics as a buffer is opened, changed (full sync) and saved, with the
codes `rulecheck` reports (a diagnostic in an included file goes to that
file); hover, go to definition and completion, as `lookup.py` answers them;
formatting through `fmt.format_text` (no edits for a buffer that does not
parse). This module only translates: LSP positions are 0-based and counted
in the client's code units, `Span`s are 1-based and counted in characters.
A buffer that breaks the engine gives an E541 diagnostic, never a dead server.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path
from pygls.workspace import TextDocument
from pygls.workspace.position_codec import PositionCodec

from . import __version__
from .errors import ERROR, Diagnostic, RulesError
from .loader import Analysis
from .lookup import Completion, Vocabulary, analyze_buffer, completions, definition, hover
from .source import Span

ENGINE_FAILED = "E541"
SOURCE = "ratecard"

_SEVERITY = {ERROR: types.DiagnosticSeverity.Error}
_COMPLETION_KIND = {
    "region": types.CompletionItemKind.Value,
    "token type": types.CompletionItemKind.Field,
    "group": types.CompletionItemKind.Module,
    "model": types.CompletionItemKind.Class,
    "currency": types.CompletionItemKind.Unit,
    "keyword": types.CompletionItemKind.Keyword,
}

log = logging.getLogger(__name__)


class RatecardServer(LanguageServer):
    """The server, with what it knows of each open buffer: its last analysis, the names to complete
    from (kept from its last parse), and the files its diagnostics were last published to."""

    def __init__(self) -> None:
        super().__init__("ratecard", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full)
        self.analyses: dict[str, Analysis] = {}
        self.vocabularies: dict[str, Vocabulary] = {}
        self.published: dict[str, set[str]] = {}

    def refresh(self, uri: str) -> None:
        """Analyze the buffer as it is now and publish its diagnostics."""
        document = self.workspace.get_text_document(uri)
        path = _document_path(document)
        try:
            analysis = analyze_buffer(document.source, path)
        except Exception as error:  # a bug in the engine: say so in the buffer, keep serving
            log.exception("analyzing %s", uri)
            self.analyses.pop(uri, None)
            self.publish(uri, {uri: [_engine_failure(error, str(path))]}, {})
            return
        self.analyses[uri] = analysis
        if analysis.program.root_file is not None:
            self.vocabularies[uri] = Vocabulary.of(analysis.program)
        by_uri: dict[str, list[Diagnostic]] = {uri: []}
        for diagnostic in analysis.diagnostics:
            by_uri.setdefault(self.uri_of(uri, analysis, diagnostic.span.path), []).append(diagnostic)
        self.publish(uri, by_uri, {name: source.text for name, source in analysis.program.sources.items()})

    def publish(self, uri: str, by_uri: dict[str, list[Diagnostic]], texts: dict[str, str]) -> None:
        """Publish each file's diagnostics, and clear the files this buffer no longer has any in."""
        for stale in self.published.get(uri, set()) - set(by_uri):
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=stale, diagnostics=[]))
        for target, diagnostics in by_uri.items():
            lines = self.lines_of(target, uri, texts)
            version = self.workspace.get_text_document(uri).version if target == uri else None
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=target, version=version, diagnostics=[_lsp_diagnostic(d, lines, self.codec) for d in diagnostics]))
        self.published[uri] = set(by_uri)

    def uri_of(self, uri: str, analysis: Analysis, path: str) -> str:
        """The URI of a file a span names: the buffer itself, or a file it includes (named from the cwd)."""
        if path == analysis.program.root:
            return uri
        return from_fs_path(str(Path(path).resolve())) or uri

    def lines_of(self, target: str, uri: str, texts: dict[str, str]) -> Sequence[str]:
        """The lines of a file a diagnostic or a definition points into, to count its columns in."""
        if target == uri or target in self.workspace.text_documents:
            return self.workspace.get_text_document(target).lines
        path = to_fs_path(target)
        text = next((t for name, t in texts.items() if path and Path(name).resolve() == Path(path)), "")
        return text.splitlines(keepends=True)

    @property
    def codec(self) -> PositionCodec:
        return self.workspace.position_codec


def _document_path(document: TextDocument) -> Path:
    """The path a buffer is checked as: its file, or (an untitled buffer) a name in the cwd."""
    path = to_fs_path(document.uri)
    return Path(path) if path else Path.cwd() / (document.filename or "untitled.rules")


def _engine_failure(error: Exception, path: str) -> Diagnostic:
    return Diagnostic(ENGINE_FAILED, f"ratecard could not check this buffer: {type(error).__name__}: {error}",
                      Span.whole(path), "this is a bug in ratecard; rulecheck on the saved file shows more")


def _lsp_range(span: Span, lines: Sequence[str], codec: PositionCodec) -> types.Range:
    """A 1-based, character-counted span as a 0-based range in the client's code units."""
    if span.line <= 0:  # about the file as a whole
        return types.Range(start=types.Position(line=0, character=0), end=types.Position(line=0, character=0))
    start = types.Position(line=span.line - 1, character=span.column - 1)
    end = types.Position(line=span.end_line - 1, character=span.end_column - 1)
    return codec.range_to_client_units(lines, types.Range(start=start, end=end))


def _lsp_diagnostic(diagnostic: Diagnostic, lines: Sequence[str], codec: PositionCodec) -> types.Diagnostic:
    message = diagnostic.message + (f"\nhelp: {diagnostic.hint}" if diagnostic.hint else "")
    return types.Diagnostic(range=_lsp_range(diagnostic.span, lines, codec), message=message,
                            severity=_SEVERITY.get(diagnostic.severity, types.DiagnosticSeverity.Warning),
                            code=diagnostic.code, source=SOURCE)


def _cursor(server: RatecardServer, params) -> tuple[TextDocument, int, int]:
    """The buffer a request is about and its cursor as a 1-based line and character column."""
    document = server.workspace.get_text_document(params.text_document.uri)
    position = document.position_from_client_units(params.position)
    return document, position.line + 1, position.character + 1


def _location(server: RatecardServer, uri: str, span: Span) -> types.Location:
    analysis = server.analyses[uri]
    target = server.uri_of(uri, analysis, span.path)
    texts = {name: source.text for name, source in analysis.program.sources.items()}
    return types.Location(uri=target, range=_lsp_range(span, server.lines_of(target, uri, texts), server.codec))


def _completion_item(completion: Completion) -> types.CompletionItem:
    return types.CompletionItem(label=completion.label, kind=_COMPLETION_KIND.get(completion.kind),
                                detail=completion.detail or completion.kind)


def _whole_document_edit(document: TextDocument, text: str) -> types.TextEdit:
    start, end = types.Position(line=0, character=0), types.Position(line=len(document.lines), character=0)
    whole = types.Range(start=start, end=end)
    return types.TextEdit(range=whole, new_text=text)


def build_server() -> RatecardServer:
    server = RatecardServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RatecardServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RatecardServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: RatecardServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RatecardServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.publish(uri, {}, {})  # its diagnostics go with it
        for known in (ls.analyses, ls.vocabularies, ls.published):
            known.pop(uri, None)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: RatecardServer, params: types.HoverParams) -> types.Hover | None:
        document, line, column = _cursor(ls, params)
        analysis = ls.analyses.get(document.uri)
        found = _answer(lambda: hover(analysis, line, column)) if analysis else None
        if found is None:
            return None
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=found.text),
                           range=_lsp_range(found.span, document.lines, ls.codec))

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def on_definition(ls: RatecardServer, params: types.DefinitionParams) -> types.Location | None:
        document, line, column = _cursor(ls, params)
        analysis = ls.analyses.get(document.uri)
        span = _answer(lambda: definition(analysis.program, line, column)) if analysis else None
        return None if span is None else _location(ls, document.uri, span)

    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=[" ", ","]))
    def on_completion(ls: RatecardServer, params: types.CompletionParams) -> types.CompletionList:
        document, line, column = _cursor(ls, params)
        vocabulary = ls.vocabularies.get(document.uri, Vocabulary())
        found = _answer(lambda: completions(document.source, line, column, vocabulary)) or []
        return types.CompletionList(is_incomplete=False, items=[_completion_item(c) for c in found])

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def on_formatting(ls: RatecardServer, params: types.DocumentFormattingParams) -> list[types.TextEdit]:
        document = ls.workspace.get_text_document(params.text_document.uri)
        from .fmt import format_text
        try:
            formatted = format_text(document.source, str(_document_path(document)))
        except RulesError:  # it does not parse: the diagnostics say why, and nothing is touched
            return []
        except Exception:
            log.exception("formatting %s", document.uri)
            return []
        return [] if formatted == document.source else [_whole_document_edit(document, formatted)]

    return server


def _answer(ask):
    """The answer to a request, or None when working it out fails (logged): a request never kills the server."""
    try:
        return ask()
    except Exception:
        log.exception("answering a request")
        return None


def serve() -> None:
    """Serve one editor on stdin and stdout until it shuts the server down."""
    build_server().start_io()
