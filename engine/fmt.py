"""Rules text to the same rules in the one canonical layout (`ratecard fmt`).

Takes the text of a `.rules` file and gives it laid out canonically, or raises
`RulesError` with the syntax diagnostics (as `rulecheck` reports them) when it
does not parse. Only whitespace changes: every token and every comment is
written as in the source and in the same order, so the formatted file means
exactly what the original meant. The layout (docs/fmt.md):

- one statement per line, two spaces of indentation per block, `{` at the end
  of the line that opens a block and `}` alone on the line that closes it;
- a tier table's rows in columns: the bounds (one column for the tables that
  follow one another in a model), then each rate padded so that the prices
  line up down the rows; a run of one-line tables (`china { input 0.1 }`) in
  columns too, as are the display names of a run of `region` statements; a
  column ends three spaces before the next one;
- a group's members four to a line, aligned after the `=`;
- at most one blank line between statements, none after `{` or before `}`;
- comments stay where they were: a comment on its own line before the
  statement (or the token) it preceded, a trailing comment at the end of its
  line, two spaces after the code.

How: the parser gives the AST (the statements, blocks, rows and rates, each
with its span) and every token it read; the comments are found in the gaps
between the tokens. The layout gives each token a column, and says which
tokens start a line; the rendering then writes the tokens in order and puts
each comment back into its gap. A comment inside what would be one line ends
that line, and the line goes on below, each token at the column it would have had.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

import attrs

from . import ast
from .errors import RulesError
from .loader import collector_paused
from .parse import parse
from .source import Source

INDENT = 2
GUTTER = 3  # spaces between the columns of a table
MEMBERS_PER_LINE = 4
TRAILING = "  "  # between the code and a trailing comment

_COMMENT = re.compile(r"#[^\n]*")

# How a line begins: a statement (a blank line before it, or its comments, is kept), the `}` that
# closes a block (a blank line before its comments is kept), or the continuation of a statement.
STATEMENT, CLOSE, CONTINUATION = range(3)


@attrs.frozen(slots=True)
class Comment:
    text: str  # from `#`, without trailing blanks
    line: int


@attrs.frozen(slots=True)
class Lexed:
    """A text's tokens as the parser read them, and its comments by the gap they stand in."""

    tokens: list  # Lark tokens: `.value`, `.line`, `.column`, `.end_column`
    gaps: dict[int, list[Comment]]  # i -> the comments just before token i (len(tokens): after the last)

    def comments(self) -> list[Comment]:
        return [c for i in sorted(self.gaps) for c in self.gaps[i]]


def format_text(text: str, path: str = "<string>") -> str:
    """The canonical layout of the whole text of a rules file; `RulesError` when it does not parse."""
    with collector_paused():  # a big book makes millions of objects, and no cycles (see `collector_paused`)
        tree, lexed = read(text, path)
        layout = _Layout(lexed)
        layout.statements(tree.items, 0)
        return _render(lexed, layout)


def read(text: str, path: str = "<string>") -> tuple[ast.RulesFile, Lexed]:
    """The AST of `text` and its tokens and comments; `RulesError` when it does not parse."""
    tokens: list = []
    tree = parse(text, path, tokens)
    if isinstance(tree, list):
        raise RulesError(tree, {path: Source(path, text)})
    return tree, Lexed(tokens, _comments(text, tokens))


def _comments(text: str, tokens: Sequence) -> dict[int, list[Comment]]:
    """The comments in the gaps between tokens (a gap holds only blanks and comments: a `#` starts one)."""
    gaps: dict[int, list[Comment]] = {}
    start, line = 0, 1
    for index in range(len(tokens) + 1):
        end = tokens[index].start_pos if index < len(tokens) else len(text)
        if text.find("#", start, end) >= 0:
            found = []
            for match in _COMMENT.finditer(text, start, end):
                found.append(Comment(match.group().rstrip(), line + text.count("\n", start, match.start())))
            gaps[index] = found
        if index < len(tokens):
            start, line = tokens[index].end_pos, tokens[index].line
    return gaps


# --- layout: a column for every token, and where lines start ----------------------------------------

@attrs.frozen(slots=True)
class _Start:
    comment_column: int  # where the comments on their own lines before this line go
    kind: int  # STATEMENT, CLOSE or CONTINUATION


class _Layout:
    """Places the tokens of an AST: `columns[i]` for token i, `starts[i]` when it begins a line."""

    def __init__(self, lexed: Lexed) -> None:
        self.lexed = lexed
        tokens = lexed.tokens
        self.text = [t.value for t in tokens]
        self.columns = [0] * len(tokens)
        self.starts: dict[int, _Start] = {}
        self.at = {(t.line, t.column): i for i, t in enumerate(tokens)}
        self.ending = {(t.line, t.end_column): i for i, t in enumerate(tokens)}

    # -- tokens of nodes ----------------------------------------------------

    def first(self, node) -> int:
        """The index of a node's first token (a one-token node has its position, others a span)."""
        where = node if isinstance(node, (ast.Name, ast.Number, ast.Moment)) else node.span
        return self.at[(where.line, where.column)]

    def last(self, node) -> int:
        span = node.span
        return self.ending[(span.end_line, span.end_column)]

    def width(self, first: int, last: int) -> int:
        """How wide tokens `first`..`last` are, laid out on one line."""
        text = self.text
        return sum(len(text[i]) for i in range(first, last + 1)) + sum(
            _space(text[i - 1], text[i]) for i in range(first + 1, last + 1))

    def blank_before(self, index: int) -> bool:
        """Whether the source has a blank line before token `index` (or before the comments just before it)."""
        tokens = self.lexed.tokens
        previous = tokens[index - 1].line if index else 1
        for comment in self.lexed.gaps.get(index, ()):
            if comment.line - previous >= 2:
                return True
            previous = comment.line
        return tokens[index].line - previous >= 2

    # -- placing ------------------------------------------------------------

    def start(self, index: int, column: int, kind: int = STATEMENT, comment_column: int | None = None) -> None:
        self.starts[index] = _Start(column if comment_column is None else comment_column, kind)
        self.columns[index] = column

    def put(self, first: int, last: int, column: int) -> int:
        """Tokens `first`..`last` one after the other from `column`; gives the column after the last."""
        text, columns = self.text, self.columns
        columns[first] = column
        column += len(text[first])
        for i in range(first + 1, last + 1):
            column += _space(text[i - 1], text[i])
            columns[i] = column
            column += len(text[i])
        return column

    def line(self, first: int, last: int, column: int) -> int:
        self.start(first, column)
        return self.put(first, last, column)

    # -- statements ---------------------------------------------------------

    def statements(self, nodes: Sequence, indent: int) -> None:
        for run in self._runs(nodes):
            if isinstance(run[0], ast.RegionDecl):
                self.regions(run, indent)
            elif isinstance(run[0], ast.RateTable):
                self.tables(run, indent)
            else:
                self.statement(run[0], indent)

    def _runs(self, nodes: Sequence) -> Iterator[list]:
        """Statements in alignment runs: regions or rate tables one after the other, no blank line between."""
        run: list = []
        for node in nodes:
            if run and (type(node) is not type(run[0]) or not isinstance(node, (ast.RegionDecl, ast.RateTable))
                        or self.blank_before(self.first(node))):
                yield run
                run = []
            run.append(node)
        if run:
            yield run

    def statement(self, node, indent: int) -> None:
        if isinstance(node, ast.Book):
            self.block(node, node.body, indent)
        elif isinstance(node, ast.Model):
            self.block(node, sorted((*node.aliases, *node.selectors, *node.price_units, *node.tables, *node.variants),
                                    key=self.first), indent)
        elif isinstance(node, ast.ModelVariant) and node.tables:
            self.block(node, node.tables, indent)
        elif isinstance(node, ast.Quota):
            self.block(node, node.clauses, indent)
        elif isinstance(node, ast.Example):
            self.example(node, indent)
        elif isinstance(node, ast.Group):
            self.group(node, indent)
        else:
            self.line(self.first(node), self.last(node), indent)

    def block(self, node, body: Sequence, indent: int) -> None:
        """`header {`, the body one level in, `}`."""
        first, close = self.first(node), self.last(node)
        opening = self.first(body[0]) - 1 if body else close - 1
        self.line(first, opening, indent)
        self.statements(body, indent + INDENT)
        self.start(close, indent, CLOSE, indent + INDENT)

    def example(self, node: ast.Example, indent: int) -> None:
        first, close = self.first(node), self.last(node)
        self.line(first, first + 2, indent)  # example "title" {
        self.line(first + 3, close - 1, indent + INDENT)
        self.start(close, indent, CLOSE, indent + INDENT)

    def group(self, node: ast.Group, indent: int) -> None:
        """`group name = a, b, c, d,` and the further members below the first, four to a line."""
        first = self.first(node)
        members_at = column = self.line(first, first + 2, indent) + 1
        on_line = 0
        for k, member in enumerate(node.members):
            at = self.first(member)
            if k and (on_line == MEMBERS_PER_LINE or at in self.lexed.gaps):  # a comment before it ends the line
                self.start(at, members_at, CONTINUATION)
                column, on_line = members_at, 0
            column = self.put(at, at + 1 if k + 1 < len(node.members) else at, column) + 1  # with its comma
            on_line += 1

    def regions(self, run: list[ast.RegionDecl], indent: int) -> None:
        """`region id "Name", ...`, the names of consecutive regions in one column."""
        names_at = indent + len("region ") + max(len(r.id.text) for r in run) + GUTTER
        for region in run:
            first = self.first(region)
            self.line(first, first + 1, indent)
            self.put(first + 2, self.last(region), names_at)

    # -- rate tables --------------------------------------------------------

    def tables(self, run: list[ast.RateTable], indent: int) -> None:
        """Consecutive tables of a model: one bounds column for the tiered, one set of columns for the flat."""
        tiered = [t for t in run if t.rows[0].bounds is not None]
        flat = [t for t in run if t.rows[0].bounds is None]
        bounds_width = max((self.width(*self.bounds(row)) for t in tiered for row in t.rows), default=0)
        flat_columns = self.rate_columns([t.rows[0] for t in flat])
        header_width = max((self.width(self.first(t), self.first(t.rows[0].rates[0]) - 2) for t in flat), default=0)
        for table in run:
            if table.rows[0].bounds is None:
                self.flat_table(table, indent, header_width, flat_columns)
            else:
                self.tiered_table(table, indent, bounds_width)

    def bounds(self, row: ast.TierRow) -> tuple[int, int]:
        first = self.first(row.bounds.lower)
        return first, self.first(row.rates[0].token_type) - 1

    def flat_table(self, table: ast.RateTable, indent: int, header_width: int, columns: list[_Column]) -> None:
        """`places   { rate   rate }` on one line."""
        row = table.rows[0]
        opening = self.first(row.rates[0].token_type) - 1
        self.line(self.first(table), opening - 1, indent)
        brace = indent + header_width + GUTTER
        self.columns[opening] = brace
        end = self.cells(row, brace + 2, columns)
        self.columns[self.last(table)] = end + 1

    def tiered_table(self, table: ast.RateTable, indent: int, bounds_width: int) -> None:
        first = self.first(table)
        self.line(first, self.first(table.rows[0].bounds.lower) - 1, indent)  # places [effective] {
        columns = self.rate_columns(table.rows)
        for row in table.rows:
            bounds = self.bounds(row)
            self.line(*bounds, indent + INDENT)
            self.cells(row, indent + INDENT + bounds_width + GUTTER, columns)
        close = self.last(table)
        self.start(close, indent, CLOSE, indent + INDENT)

    def rate_columns(self, rows: Iterable[ast.TierRow]) -> list[_Column]:
        """The width of each column of rates over `rows`, and of the token type names in it."""
        columns: list[_Column] = []
        for row in rows:
            for k, rate in enumerate(row.rates):
                first = self.first(rate.token_type)
                rest = self.width(first + 1, self.first(rate.last_token))
                if k == len(columns):
                    columns.append(_Column(0, 0))
                column = columns[k]
                columns[k] = _Column(max(column.type_width, len(rate.token_type.text)), max(column.rest_width, rest))
        return columns

    def cells(self, row: ast.TierRow, column: int, columns: list[_Column]) -> int:
        """The rates of a row from `column`, each in its column; gives the column after the last."""
        for rate, width in zip(row.rates, columns):
            first = self.first(rate.token_type)
            self.columns[first] = column
            end = self.put(first + 1, self.first(rate.last_token), column + width.type_width + 1)
            column += width.type_width + 1 + width.rest_width + GUTTER
        return end


@attrs.frozen(slots=True)
class _Column:
    type_width: int
    rest_width: int  # the prices after the token type (or `not billed`)


def _space(before: str, token: str) -> int:
    """Spaces between two tokens on a line: none before a comma, two around `=>`, else one."""
    if token == ",":
        return 0
    return 2 if "=>" in (before, token) else 1


# --- rendering ------------------------------------------------------------------------------------

def _render(lexed: Lexed, layout: _Layout) -> str:
    """The tokens at their columns, with each comment put back into its gap."""
    tokens, gaps, columns, starts = lexed.tokens, lexed.gaps, layout.columns, layout.starts
    lines: list[str] = []
    line = ""
    opened = False  # the last line of code ended with `{`: no blank line may follow it
    end = len(tokens)
    for index in range(end + 1):
        start = starts.get(index) if index < end else _Start(0, STATEMENT)
        column = columns[index] if index < end else 0
        previous = tokens[index - 1].line if index else 0
        comments = gaps.get(index, ())
        if comments and index and comments[0].line == previous:
            line += TRAILING + comments[0].text
            comments = comments[1:]
        for comment in comments:
            blank = comment.line - previous >= 2 and start is not None and start.kind != CONTINUATION
            previous = comment.line
            if line or lines:
                lines.append(line)
            if blank and not opened and lines:
                lines.append("")
            line, opened = " " * (column if start is None else start.comment_column) + comment.text, False
        if index == end:
            break
        token = tokens[index]
        if start is not None or index in gaps:
            blank = (token.line - previous >= 2 and start is not None and start.kind == STATEMENT
                     and not opened and (line or lines))
            if line or lines:
                lines.append(line)
            if blank:
                lines.append("")
            line = " " * column
        else:
            line += " " * max(column - len(line), 0 if token.value == "," else 1)
        line += token.value
        opened = token.value == "{"
    if line or lines:
        lines.append(line)
    return "".join(f"{text}\n" for text in lines)
