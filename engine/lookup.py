"""What stands where in a rules buffer: the answers an editor asks for.

Takes the text of a buffer (saved or not) and gives its `Analysis`
(`analyze_buffer`: the same diagnostics as `rulecheck`), and, for a 1-based
line and column of it (`Span`'s convention), what stands there
(`symbol_at`), its hover text (`hover`: a rate's exact price per token, a
tier's bounds as integers, a region's names and group, a group's regions),
where it is defined (`definition`: a group's statement, a region's statement,
perhaps in an included file, an included file), and the words that may be
typed there (`completions`: region IDs, token types, groups, models,
keywords). Knows nothing of the language server protocol (`lsp.py` speaks
it), so every answer is a plain function of the text and the place.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import attrs

from . import ast
from .include import Program, read_text_program
from .loader import Analysis, analyze_program
from .money import plain
from .places import normalize_place
from .resources import rules_dir
from .source import Span
from .tables import PriceBook, Tier, UnitPrice
from .units import BY_WORD, TOKENS

frozen = attrs.frozen(slots=True)


def analyze_buffer(text: str, path: str | Path) -> Analysis:
    """Parse and check `text` as the file at `path` (its includes resolve next to it), examples run.

    A file of shared regions (no book) is checked through the books that include it, as `rulecheck`
    does: alone it only has its syntax checked.
    """
    path = Path(path)
    program = read_text_program(text, str(path), path.parent)
    root = program.root_file
    if root is not None and root.items and not root.all(ast.Book):
        return Analysis(program, None, program.diagnostics)
    return analyze_program(program)


# --- what stands where -------------------------------------------------------------------------------

@frozen
class PriceAt:
    """A price of a rate, in a tier row or a flat table."""

    model: ast.Model
    table: ast.RateTable
    row: ast.TierRow
    rate: ast.Rate
    price: ast.Price

    @property
    def span(self) -> Span:
        return self.price.span


@frozen
class BoundAt:
    """A tier bound (`128K` in `128K < T <= 256K`)."""

    model: ast.Model
    table: ast.RateTable
    row: ast.TierRow
    number: ast.Number

    @property
    def span(self) -> Span:
        return self.number.span


@frozen
class NameAt:
    """A name that refers to something: kind is "region", "group", "place" (a table head, group or
    region), "model" or "token type"."""

    kind: str
    name: ast.Name

    @property
    def span(self) -> Span:
        return self.name.span


@frozen
class IncludeAt:
    include: ast.Include

    @property
    def span(self) -> Span:
        return self.include.span


Symbol = PriceAt | BoundAt | NameAt | IncludeAt


def symbol_at(program: Program, line: int, column: int) -> Symbol | None:
    """What stands at 1-based (line, column) of the program's root file (the cursor may sit just after it)."""
    root = program.root_file
    if root is None:
        return None
    return next((s for s in _symbols(root) if _holds(s.span, line, column)), None)


def _holds(span: Span, line: int, column: int) -> bool:
    return (span.line, span.column) <= (line, column) <= (span.end_line, span.end_column)


def _symbols(rules_file: ast.RulesFile) -> Iterator[Symbol]:
    for item in rules_file.items:
        if isinstance(item, ast.Include):
            yield IncludeAt(item)
        elif isinstance(item, ast.RegionDecl):
            yield NameAt("region", item.id)
        elif isinstance(item, ast.Book):
            yield from _book_symbols(item)


def _book_symbols(book: ast.Book) -> Iterator[Symbol]:
    for statement in book.body:
        if isinstance(statement, ast.RegionDecl):
            yield NameAt("region", statement.id)
        elif isinstance(statement, ast.Group):
            yield NameAt("group", statement.name)
            yield from (NameAt("region", member) for member in statement.members)
        elif isinstance(statement, ast.Model):
            yield from _model_symbols(statement)
        elif isinstance(statement, ast.Quota):
            for clause in statement.clause(ast.QuotaConsume):
                yield from (NameAt("token type", name) for name in clause.token_types)
        elif isinstance(statement, ast.Example):
            yield NameAt("region", statement.place)
            yield NameAt("model", statement.model)
            yield from (NameAt("token type", count.token_type) for count in statement.tokens)


def _model_symbols(model: ast.Model) -> Iterator[Symbol]:
    yield NameAt("model", model.name)
    yield from (NameAt("token type", term) for selector in model.selectors for term in selector.token_types)
    for table in model.tables:
        yield from (NameAt("place", place) for place in table.places)
        for row in table.rows:
            if row.bounds is not None:
                yield BoundAt(model, table, row, row.bounds.lower)
                if row.bounds.upper is not None:
                    yield BoundAt(model, table, row, row.bounds.upper)
            for rate in row.rates:
                yield NameAt("token type", rate.token_type)
                yield from (PriceAt(model, table, row, rate, price) for price in rate.prices)


# --- hover -------------------------------------------------------------------------------------------

@frozen
class Hover:
    text: str  # Markdown
    span: Span  # what it is about


def hover(analysis: Analysis, line: int, column: int) -> Hover | None:
    """The Markdown an editor shows for what stands at (line, column), or None for nothing worth saying."""
    symbol = symbol_at(analysis.program, line, column)
    if isinstance(symbol, PriceAt):
        text = _price_text(analysis, symbol)
    elif isinstance(symbol, BoundAt):
        text = _bound_text(symbol)
    elif isinstance(symbol, NameAt) and symbol.kind in ("region", "group", "place"):
        text = _place_text(analysis.program, symbol.name.text)
    else:
        text = None
    return None if text is None else Hover(text, symbol.span)


def _book(program: Program) -> ast.Book | None:
    root = program.root_file
    books = root.all(ast.Book) if root is not None else []
    return books[0] if books else None


def _groups(program: Program) -> dict[str, ast.Group]:
    book = _book(program)
    return {} if book is None else {g.name.text: g for g in book.all(ast.Group)}


def _selector(model: ast.Model) -> str:
    return " + ".join(t.text for t in model.selectors[0].token_types) if model.selectors else "input"


def _price_text(analysis: Analysis, at: PriceAt) -> str:
    currency = at.price.currency.text if at.price.currency else _default_currency(analysis.program)
    unit, counted = _rate_unit(at, analysis.book.unit_label if analysis.book else _unit_label(analysis.program))
    title = (f"**{at.model.name.text}** `{at.rate.token_type.text}` {counted}, "
             f"{_table_name(at.table)} tier {_tier_number(at.table, at.row)} of {len(at.table.rows)}")
    lines = [title, ""]
    price = f"{currency} {at.price.amount.text} per {unit}"
    unit_price = _compiled_price(analysis.book, at, currency)
    if unit_price is not None:
        price += f" = **{currency} {plain(unit_price.per_token)} per {BY_WORD.get(counted, TOKENS).singular}**"
    elif analysis.book is None:
        price += " (the price per token is shown once the book checks without errors)"
    if at.price.since is not None:
        price += f", from {at.price.since.text} (a price change)"
    lines += [price, "", f"Tier: {_tier_text(at.model, at.row)}"]
    if at.table.effective is not None:
        lines += ["", f"In force: {_effective_text(at.table.effective)}"]
    lines += ["", "Applies to " + "; ".join(_place_summary(analysis.program, p.text) for p in at.table.places)]
    return "\n".join(lines)


def _bound_text(at: BoundAt) -> str:
    tokens = int(at.number.value)
    return (f"`{at.number.text}` = {tokens} {_selector(at.model)} tokens per request\n\n"
            f"{at.model.name.text}, {_table_name(at.table)} tier {_tier_number(at.table, at.row)}: "
            f"{_tier_text(at.model, at.row)}")


def _tier_text(model: ast.Model, row: ast.TierRow) -> str:
    """The tier's bounds as integers (`128000 < T <= 256000`), and as written when that differs."""
    bounds = row.bounds
    if bounds is None:
        return "every request size (one flat rate)"
    exact = f"{int(bounds.lower.value)} < T" + ("" if bounds.upper is None else f" <= {int(bounds.upper.value)}")
    written = f"{bounds.lower.text} < T" + ("" if bounds.upper is None else f" <= {bounds.upper.text}")
    text = f"`{exact}` {_selector(model)} tokens per request"
    return text if written == exact else f"{text} (written `{written}`)"


def _tier_number(table: ast.RateTable, row: ast.TierRow) -> int:
    """The row's 1-based place in its table: the tier's index, as compile numbers them."""
    return next(index for index, each in enumerate(table.rows, start=1) if each is row)


def _table_name(table: ast.RateTable) -> str:
    return ", ".join(p.text for p in table.places)


def _effective_text(effective: ast.Effective) -> str:
    since = f"from {effective.start.text}" if effective.start else "from the start of the book"
    return since + (f" until {effective.end.text}" if effective.end else "")


def _default_currency(program: Program) -> str:
    book = _book(program)
    currencies = book.all(ast.Currencies) if book else []
    return currencies[0].codes[0].text if currencies else "?"


def _rate_unit(at: PriceAt, book_unit: str) -> tuple[str, str]:
    """What the price under the cursor is for (`1K searches`) and what usage counts (`searches`), as written."""
    setting = at.rate.unit
    if setting is not None and setting.word.text in BY_WORD:
        unit = BY_WORD[setting.word.text]
        return unit.label(1 if setting.size is None else int(setting.size.value)), unit.plural
    if at.model.price_units and at.model.price_units[0].tokens is not None:
        return TOKENS.label(int(at.model.price_units[0].tokens.value)), "tokens"
    return book_unit, "tokens"


def _unit_label(program: Program) -> str:
    book = _book(program)
    units = book.all(ast.PriceUnit) if book else []
    if not units or units[0].tokens is None:
        return "token"
    return f"{units[0].tokens.text} tokens"


def _compiled_price(book: PriceBook | None, at: PriceAt, currency: str) -> UnitPrice | None:
    """The compiled price of this price cell: found through a tier compiled from this row in which this cell is
    the price in force (a row with price changes is compiled once per period)."""
    token_type = at.rate.token_type.text
    ends = {(span.end_line, span.end_column) for span in (at.price.span, at.price.amount.span)}
    for tier in _compiled_tiers(book, at.model, at.table, at.row):
        span = tier.rate_spans.get((token_type, currency))
        if span is not None and (span.end_line, span.end_column) in ends:
            return tier.prices.get(currency, {}).get(token_type)
    return None


def _compiled_tiers(book: PriceBook | None, model: ast.Model, table: ast.RateTable, row: ast.TierRow
                    ) -> Iterator[Tier]:
    if book is None or not table.places:
        return
    first = table.places[0].text
    region_id = next(iter(book.groups.get(first, (first,))), None)
    offer = book.offers.get((model.name.text, region_id))
    if offer is not None:
        yield from (tier for compiled in offer.tables for tier in compiled.tiers if tier.span == row.span)


def _place_summary(program: Program, name: str) -> str:
    group = _groups(program).get(name)
    if group is not None:
        return f"group {name}: " + ", ".join(m.text for m in group.members)
    region = _region_decl(program, name)
    return f"region {name}" + (f" ({region.display_names[0]})" if region and region.display_names else "")


def _place_text(program: Program, name: str) -> str | None:
    """A group's regions with their names, or a region's names and group."""
    group = _groups(program).get(name)
    if group is not None:
        lines = [f"**group {name}**: {len(group.members)} region{'s' if len(group.members) != 1 else ''}", ""]
        for member in group.members:
            region = _region_decl(program, member.text)
            names = ", ".join(region.display_names) if region else "not declared"
            lines.append(f"- `{member.text}`: {names}")
        return "\n".join(lines)
    region = _region_decl(program, name)
    if region is None:
        return None
    groups = [g.name.text for g in _groups(program).values() if any(m.text == region.id.text for m in g.members)]
    lines = [f"**region {region.id.text}**: " + (", ".join(region.display_names) or "no display names"), "",
             "Group: " + (", ".join(groups) or "none (named in tables by its ID)")]
    return "\n".join(lines)


def _region_decl(program: Program, place: str) -> ast.RegionDecl | None:
    """The `region` statement of a region ID or display name, in any file of the program."""
    wanted = normalize_place(place)
    for region in _region_decls(program):
        if region.id.text == place or any(normalize_place(n) == wanted for n in region.display_names):
            return region
    return None


def _region_decls(program: Program) -> Iterator[ast.RegionDecl]:
    for rules_file in program.files:
        yield from rules_file.all(ast.RegionDecl)
        for book in rules_file.all(ast.Book):
            yield from book.all(ast.RegionDecl)


# --- go to definition --------------------------------------------------------------------------------

def definition(program: Program, line: int, column: int) -> Span | None:
    """Where what stands at (line, column) is defined: a group's or region's statement, an included file
    (its first line), or None."""
    symbol = symbol_at(program, line, column)
    if isinstance(symbol, IncludeAt):
        path = included_file(program, symbol.include)
        return None if path is None else Span(str(path), 1, 1, 1, 1)
    if not isinstance(symbol, NameAt) or symbol.kind not in ("region", "group", "place"):
        return None
    group = _groups(program).get(symbol.name.text)
    if group is not None:
        return group.span
    region = _region_decl(program, symbol.name.text)
    return None if region is None else region.span


def included_file(program: Program, include: ast.Include) -> Path | None:
    """The file an include of the root file was read from: next to the root, else shipped (as include.py
    looks), provided the program did read it."""
    read = {Path(name).resolve() for name in program.sources}
    for candidate in (Path(program.root).parent / include.path, rules_dir() / include.path):
        if candidate.resolve() in read:
            return candidate.resolve()
    return None


# --- completion --------------------------------------------------------------------------------------

@frozen
class Completion:
    label: str
    kind: str  # "region", "token type", "group", "model", "currency" or "keyword"
    detail: str | None = None


@frozen
class Vocabulary:
    """The names a buffer's program declares or uses, to complete from (kept from its last good parse)."""

    regions: tuple[tuple[str, str], ...] = ()  # (ID, display names)
    groups: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    token_types: tuple[str, ...] = ("input", "output")
    currencies: tuple[str, ...] = ()

    @classmethod
    def of(cls, program: Program) -> Vocabulary:
        regions = {r.id.text: ", ".join(r.display_names) for r in _region_decls(program)}
        book = _book(program)
        if book is None:
            return cls(tuple(regions.items()))
        models = book.all(ast.Model)
        types = {"input": None, "output": None}
        for model in models:
            types.update(dict.fromkeys(model.token_types()))
            types.update(dict.fromkeys(t.text for s in model.selectors for t in s.token_types))
        return cls(tuple(regions.items()), tuple(g.name.text for g in book.all(ast.Group)),
                   tuple(m.name.text for m in models), tuple(types),
                   tuple(c.text for s in book.all(ast.Currencies) for c in s.codes))

    def region_items(self) -> list[Completion]:
        return [Completion(rid, "region", names or None) for rid, names in self.regions]

    def token_type_items(self) -> list[Completion]:
        return [Completion(t, "token type") for t in self.token_types]


TOP_KEYWORDS = ("include", "region", "book")
BOOK_KEYWORDS = ("source", "currency", "price", "cycle", "round", "effective", "region", "group", "model", "quota",
                 "trial", "example")
QUOTA_KEYWORDS = ("free", "window", "consume")
MODEL_KEYWORDS = ("tier", "alias")

_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"?|#[^\n]*|=>|<=|[@~]?[A-Za-z0-9_.]+(?:[-/:@][A-Za-z0-9_.]+)*|\S')
_PARTIAL_WORD = re.compile(r"[A-Za-z0-9_./:@~-]*\Z")


def completions(text: str, line: int, column: int, vocabulary: Vocabulary) -> list[Completion]:
    """What may be typed at (line, column): a guess from the words before it, which need not parse."""
    before = _text_before(text, line, column)
    before = before[:_PARTIAL_WORD.search(before).start()]  # the word being typed is the client's to filter by
    block, statement = _context(before)
    if block == "top":
        return _keywords(TOP_KEYWORDS)
    if block == "book":
        if statement[:1] == ["group"]:
            return vocabulary.region_items() if "=" in statement else []
        return _keywords(BOOK_KEYWORDS)
    if block == "model":
        if statement[:1] == ["tier"] and "request" in statement:  # the selector is complete: a table head follows
            statement = statement[statement.index("request") + 1:]
        if statement[:1] == ["tier"]:
            return vocabulary.token_type_items() if statement[-1:] in (["by"], ["+"]) else []
        if statement[:1] == ["alias"]:
            if statement[-1] in ("alias", ","):
                return []  # a new name: nothing to offer
            statement = []  # the list of aliases is complete: a table head or a statement follows
        places = [Completion(g, "group") for g in vocabulary.groups] + vocabulary.region_items()
        return places + ([] if statement else _keywords(MODEL_KEYWORDS))
    if block == "table":
        return vocabulary.token_type_items()
    if block == "quota":
        return vocabulary.token_type_items() if statement[:1] == ["consume"] else _keywords(QUOTA_KEYWORDS)
    if block == "example":
        return _example_items(statement, vocabulary)
    return []


def _text_before(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    if line > len(lines):
        return text
    return "\n".join(lines[:line - 1] + [lines[line - 1][:column - 1]])


def _keywords(words: tuple[str, ...]) -> list[Completion]:
    return [Completion(w, "keyword") for w in words]


def _example_items(statement: list[str], vocabulary: Vocabulary) -> list[Completion]:
    """An example is `PLACE MODEL (TYPE COUNT)+ [requests N] [at TIME] => CURRENCY AMOUNT`."""
    if not statement:
        return vocabulary.region_items()
    if len(statement) == 1:
        return [Completion(m, "model") for m in vocabulary.models]
    if statement[-1] == "=>":
        return [Completion(c, "currency") for c in vocabulary.currencies]
    if len(statement) == 2 or statement[-1][:1].isdigit():
        return vocabulary.token_type_items() + _keywords(("requests", "at"))
    return []


def _context(before: str) -> tuple[str, list[str]]:
    """The kind of block the text ends in ("top", "book", "model", "table", "quota", "example" or
    "other") and the words of the statement it ends in, so far."""
    stack: list[str] = []
    statement: list[str] = []
    for token in _TOKEN.findall(before):
        block = stack[-1] if stack else "top"
        if token.startswith("#"):
            continue
        if token == "{":
            stack.append(_opened(block, statement))
            statement = []
        elif token == "}":
            if stack:
                stack.pop()
            statement = []
        elif _starts_statement(block, token):
            statement = [token]
        else:
            statement.append(token)
    return (stack[-1] if stack else "top"), statement


def _starts_statement(block: str, token: str) -> bool:
    if block == "top":
        return token in TOP_KEYWORDS
    if block == "book":
        return token in BOOK_KEYWORDS
    if block == "quota":
        return token in QUOTA_KEYWORDS
    return block == "model" and token in MODEL_KEYWORDS


def _opened(block: str, statement: list[str]) -> str:
    """The kind of block a `{` opens after these words."""
    first = statement[0] if statement else None
    if block == "top":
        return "book" if first == "book" else "other"
    if block == "book":
        return first if first in ("model", "quota", "example") else "other"
    if block == "model":
        return "table"
    return "other"
