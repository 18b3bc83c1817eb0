"""Rendering a book diff and its bill impact.

Takes a `diff.BookDiff`, the `diff.Impact` of billing usage with both books
(or None) and the two books' labels (as the command line named them), and
gives text for a terminal (`render_text`), a JSON document of the schema
`ratecard-diff/1` (`render_json`, money in strings; docs/diff.md describes
it), or Markdown for a pull-request comment (`render_markdown`: headings and
tables, no HTML, long lists cut short). Nothing here compares: what changed
is the diff's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ..diff import (
    AmountChange,
    BookDiff,
    DatesChange,
    ExampleChange,
    ExampleResult,
    Impact,
    NotBilledChange,
    OneSided,
    Place,
    PriceChange,
    SettingChange,
    TierChange,
)
from ..money import plain

SCHEMA = "ratecard-diff/1"
MARKDOWN_ROWS = 20  # rows of a Markdown table before the rest is counted instead of shown
MARKDOWN_PLACES = 5  # records named per reason in Markdown (the rest are counted)
TEXT_PLACES = 20  # and in text
_HUNDREDTH = Decimal("0.01")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


# --- pieces every format shares -------------------------------------------------------------------

def percent_text(percent: Decimal | None) -> str:
    """`+8.70%`: two decimals, or two significant digits for a change under 0.01%; `n/a` without a base."""
    if percent is None:
        return "n/a"
    shown = percent.quantize(_HUNDREDTH, ROUND_HALF_EVEN)
    if not shown and percent:
        shown = percent.quantize(Decimal(1).scaleb(percent.adjusted() - 1), ROUND_HALF_EVEN)
    sign = "+" if shown > 0 else "-" if shown < 0 else ""
    return f"{sign}{format(abs(shown), 'f')}%"


def signed(amount: Decimal) -> str:
    return ("+" if amount > 0 else "-" if amount < 0 else "") + format(abs(amount), "f")


def place_text(place: Place) -> str:
    if place.is_group:
        count = len(place.regions)
        return f"{place.name} ({count} region{'s' if count != 1 else ''})"
    return place.name


def where_text(model: str, place: Place, period: str | None) -> str:
    return f"{model} in {place_text(place)}" + (f" [{period}]" if period else "")


def price_change_text(change: PriceChange) -> str:
    return {"new": "new", "removed": "removed"}.get(change.kind) or percent_text(change.percent)


def written(price: Decimal) -> str:
    """A price as the book writes it (`0.000480`: its trailing zeros kept)."""
    return format(price, "f")


def price_side(price: Decimal | None) -> str:
    return "(none)" if price is None else written(price)


def setting_text(change: SettingChange, arrow: str = "->") -> str:
    subject = change.subject if change.setting == change.subject else f"{change.subject} {change.setting}"
    return f"{subject}: {change.old or '(none)'} {arrow} {change.new or '(none)'}"


def names_text(names: Sequence[str] | None) -> str:
    return ", ".join(f'"{n}"' for n in names) if names else "(no display name)"


def structure_lines(diff: BookDiff, arrow: str = "->") -> list[str]:
    """Every change that is not a price or an example, one line each (the text and Markdown forms share them)."""
    lines = [setting_text(change, arrow) for change in diff.settings]
    lines += [f"model added: {m}" for m in diff.models_added]
    lines += [f"model removed: {m}" for m in diff.models_removed]
    for change in diff.regions:
        if change.old_names is None:
            lines.append(f"region added: {change.region} {names_text(change.new_names)}")
        elif change.new_names is None:
            lines.append(f"region removed: {change.region} {names_text(change.old_names)}")
        else:
            lines.append(f"region {change.region} renamed: {names_text(change.old_names)} {arrow} "
                         f"{names_text(change.new_names)}")
    for change in diff.groups:
        if change.old_regions is None:
            lines.append(f"group added: {change.group} = {', '.join(change.new_regions)}")
        else:
            lines.append(f"group removed: {change.group} = {', '.join(change.old_regions)}")
    lines += [f"region {m.region} moved: {', '.join(m.old_groups) or '(no group)'} {arrow} "
              f"{', '.join(m.new_groups) or '(no group)'}" for m in diff.moves]
    lines += [f"tiers of {where_text(t.model, t.place, t.period)}: {' | '.join(t.old)} {arrow} {' | '.join(t.new)}"
              for t in diff.tiers]
    lines += [f"dates of {where_text(d.model, d.place, None)}: {' | '.join(d.old)} {arrow} {' | '.join(d.new)}"
              for d in diff.dates]
    lines += [f"{where_text(n.model, n.place, n.period)}, tier {n.tier}: {n.token_type} "
              + ("now not billed" if n.new else "no longer 'not billed'") for n in diff.not_billed]
    lines += [f'example added: "{title}"' for title in diff.examples_added]
    lines += [f'example removed: "{title}"' for title in diff.examples_removed]
    return lines


def example_side(result: ExampleResult) -> str:
    if result.total is None:
        return f"error[{result.code}]: {result.error}"
    return f"{result.currency} {result.rounded}"


def reject_groups(records: Sequence[OneSided]) -> list[tuple[str, str, str, list[OneSided]]]:
    """The one-sided records by who bills them and the other book's reason: (billed_by, code, reason, records)."""
    groups: dict[tuple[str, str, str], list[OneSided]] = {}
    for record in records:
        groups.setdefault((record.billed_by, record.code, record.reason), []).append(record)
    return [(*key, found) for key, found in groups.items()]


def where_list(records: Sequence[OneSided], limit: int) -> str:
    """`usage.csv:6, :17, :21` (per source), the first `limit` records, and how many more."""
    parts, source = [], None
    for record in records[:limit]:
        parts.append(f"{record.source}:{record.line}" if record.source != source else f":{record.line}")
        source = record.source
    more = len(records) - limit
    return ", ".join(parts) + (f" and {more} more" if more > 0 else "")


def counts_text(impact: Impact) -> str:
    return (f"{impact.read:,} records read = {impact.both:,} billed by both + {len(impact.only_old):,} by the old "
            f"book only + {len(impact.only_new):,} by the new book only + {impact.neither:,} by neither")


# --- text -----------------------------------------------------------------------------------------

def render_text(diff: BookDiff, impact: Impact | None, old_label: str, new_label: str) -> str:
    out = [f"--- {old_label} ({diff.old_book})", f"+++ {new_label} ({diff.new_book})"]
    if not diff.changed and not (impact and impact.changed):
        out.append("no changes" + (f"; {counts_text(impact)}" if impact else ""))
        return "\n".join(out)
    if diff.prices:
        out += ["", f"prices (per {diff.unit}):"]
        out += _columns([[change.model, place_text(change.place) + (f" [{change.period}]" if change.period else ""),
                          change.tier, meter_text(change), change.currency, price_side(change.old), "->",
                          price_side(change.new), price_change_text(change)] for change in diff.prices],
                        right={5, 7, 8})
    structure = structure_lines(diff)
    if structure:
        out += ["", "other changes:"] + [f"  {line}" for line in structure]
    if diff.examples:
        out += ["", "examples:"]
        for change in diff.examples:
            out.append(f'  "{change.title}" ({change.request}): {example_side(change.old)} -> '
                       f"{example_side(change.new)}" + _example_percent(change))
    if impact is not None:
        out += ["", f"bill impact ({impact.currency}): {counts_text(impact)}"]
        out += _columns([_amount_row(impact.total)], right={1, 3, 4, 5})
        for title, rows in (("account", impact.accounts), ("model", impact.models), ("region", impact.regions)):
            changed = [row for row in rows if row.changed]
            out.append(f"  by {title} ({len(changed)} of {len(rows)} changed):")
            out += ["  " + line for line in _columns([_amount_row(r) for r in changed], right={1, 3, 4, 5})]
        for who, records in (("old", impact.only_old), ("new", impact.only_new)):
            if records:
                other = "new" if who == "old" else "old"
                out.append(f"  billed by the {who} book only ({len(records)}; the {other} book rejects them):")
                for _, code, reason, found in reject_groups(records):
                    out += [f"    error[{code}] {reason}", f"      {len(found)} at {where_list(found, TEXT_PLACES)}"]
    return "\n".join(out)


def meter_text(change: PriceChange) -> str:
    """The token type, or the meter with its own pricing unit (`web (per 1K searches)`)."""
    return change.token_type if change.unit is None else f"{change.token_type} (per {change.unit})"


def _example_percent(change: ExampleChange) -> str:
    return f"  {percent_text(change.percent)}" if change.percent is not None else ""


def amount_cells(row: AmountChange) -> list[str]:
    """Old and new (rounded as each book rounds), the change between them, and the exact change in percent."""
    return [format(row.old_rounded, "f"), format(row.new_rounded, "f"), signed(row.change_rounded),
            percent_text(row.percent)]


def _amount_row(row: AmountChange) -> list[str]:
    old, new, change, percent = amount_cells(row)
    return [row.name, old, "->", new, change, percent]


def _columns(rows: list[list[str]], right: set[int] = frozenset(), indent: str = "  ") -> list[str]:
    """Rows aligned in columns (those in `right` to the right), two spaces apart."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                               for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]


# --- JSON -----------------------------------------------------------------------------------------

def render_json(diff: BookDiff, impact: Impact | None, old_label: str, new_label: str) -> str:
    return json.dumps(diff_document(diff, impact, old_label, new_label), indent=2, ensure_ascii=False)


def diff_document(diff: BookDiff, impact: Impact | None, old_label: str, new_label: str) -> dict[str, Any]:
    """The `ratecard-diff/1` document: plain JSON values, money and percentages as exact decimal strings."""
    return {
        "schema": SCHEMA,
        "changed": diff.changed or bool(impact and impact.changed),
        "old": {"label": old_label, "book": diff.old_book},
        "new": {"label": new_label, "book": diff.new_book},
        "unit": diff.unit,
        "settings": [{"subject": s.subject, "setting": s.setting, "old": s.old, "new": s.new} for s in diff.settings],
        "models": {"added": list(diff.models_added), "removed": list(diff.models_removed)},
        "regions": [{"region": r.region, "old_names": _list(r.old_names), "new_names": _list(r.new_names)}
                    for r in diff.regions],
        "groups": [{"group": g.group, "old_regions": _list(g.old_regions), "new_regions": _list(g.new_regions)}
                   for g in diff.groups],
        "moves": [{"region": m.region, "old_groups": list(m.old_groups), "new_groups": list(m.new_groups)}
                  for m in diff.moves],
        "prices": [_price(p) for p in diff.prices],
        "not_billed": [_not_billed(n) for n in diff.not_billed],
        "tiers": [_tiers(t) for t in diff.tiers],
        "dates": [_dates(d) for d in diff.dates],
        "examples": {"added": list(diff.examples_added), "removed": list(diff.examples_removed),
                     "changed": [_example(e) for e in diff.examples]},
        "impact": None if impact is None else _impact(impact),
    }


def _list(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else plain(amount)


def _place(place: Place) -> dict[str, Any]:
    return {"name": place.name, "group": place.is_group, "regions": list(place.regions)}


def _price(change: PriceChange) -> dict[str, Any]:
    return {"model": change.model, "place": _place(change.place), "period": change.period, "tier": change.tier,
            "token_type": change.token_type, "unit": change.unit, "currency": change.currency,
            "old": None if change.old is None else written(change.old),
            "new": None if change.new is None else written(change.new), "change": change.kind,
            "percent": _money(change.percent)}


def _not_billed(change: NotBilledChange) -> dict[str, Any]:
    return {"model": change.model, "place": _place(change.place), "period": change.period, "tier": change.tier,
            "token_type": change.token_type, "old": change.old, "new": change.new}


def _tiers(change: TierChange) -> dict[str, Any]:
    return {"model": change.model, "place": _place(change.place), "period": change.period,
            "old": list(change.old), "new": list(change.new)}


def _dates(change: DatesChange) -> dict[str, Any]:
    return {"model": change.model, "place": _place(change.place), "old": list(change.old), "new": list(change.new)}


def _example_result(result: ExampleResult) -> dict[str, Any]:
    return {"currency": result.currency, "total": _money(result.total),
            "rounded": None if result.rounded is None else format(result.rounded, "f"),
            "error": result.error, "code": result.code}


def _example(change: ExampleChange) -> dict[str, Any]:
    return {"title": change.title, "request": change.request, "old": _example_result(change.old),
            "new": _example_result(change.new), "percent": _money(change.percent)}


def _amount(row: AmountChange) -> dict[str, Any]:
    return {"name": row.name, "old": plain(row.old), "new": plain(row.new), "change": plain(row.change),
            "old_rounded": format(row.old_rounded, "f"), "new_rounded": format(row.new_rounded, "f"),
            "change_rounded": format(row.change_rounded, "f"), "percent": _money(row.percent)}


def _record(record: OneSided) -> dict[str, Any]:
    return {"source": record.source, "line": record.line, "record": record.record, "billed_by": record.billed_by,
            "code": record.code, "reason": record.reason}


def _impact(impact: Impact) -> dict[str, Any]:
    return {
        "currency": impact.currency,
        "records": {"read": impact.read, "both": impact.both, "only_old": len(impact.only_old),
                    "only_new": len(impact.only_new), "neither": impact.neither},
        "total": _amount(impact.total),
        "accounts": [_amount(r) for r in impact.accounts],
        "models": [_amount(r) for r in impact.models],
        "regions": [_amount(r) for r in impact.regions],
        "only_old": [_record(r) for r in impact.only_old],
        "only_new": [_record(r) for r in impact.only_new],
    }


# --- Markdown -------------------------------------------------------------------------------------

def render_markdown(diff: BookDiff, impact: Impact | None, old_label: str, new_label: str) -> str:
    book = diff.new_book if diff.new_book == diff.old_book else f"{diff.old_book} → {diff.new_book}"
    out = [f"### ratecard diff: `{book}`", "", f"`{_code(old_label)}` → `{_code(new_label)}`"]
    if not diff.changed and not (impact and impact.changed):
        out += ["", "No changes." + (f" {counts_text(impact)}." if impact else "")]
        return "\n".join(out) + "\n"
    if diff.prices:
        out += ["", f"#### Prices (per {diff.unit})", ""]
        out += _table(["Model", "Where", "Tier", "Token", "Old", "New", "Change"], "llllrrr",
                      [[c.model, place_text(c.place) + (f" [{c.period}]" if c.period else ""), f"`{c.tier}`",
                        meter_text(c), _priced(c.currency, c.old), _priced(c.currency, c.new), price_change_text(c)]
                       for c in diff.prices])
    structure = structure_lines(diff, "→")
    if structure:
        out += ["", "#### Other changes", ""] + [f"- {_cell(line)}" for line in structure]
    if diff.examples:
        out += ["", "#### Worked examples", ""]
        out += _table(["Example", "Old", "New", "Change"], "lrrr",
                      [[f"{c.title} ({c.request})", example_side(c.old), example_side(c.new),
                        percent_text(c.percent)] for c in diff.examples])
    if impact is not None:
        out += _markdown_impact(impact)
    return "\n".join(out) + "\n"


def _markdown_impact(impact: Impact) -> list[str]:
    out = ["", f"#### Bill impact ({impact.currency})", "", counts_text(impact) + ".", ""]
    rows = [["**total**", *amount_cells(impact.total)]]
    for title, changes in (("account", impact.accounts), ("model", impact.models), ("region", impact.regions)):
        changed = [row for row in changes if row.changed]
        rows += [[f"{title} {row.name}", *amount_cells(row)] for row in changed[:MARKDOWN_ROWS]]
        if len(changed) > MARKDOWN_ROWS:
            rows.append([f"… {len(changed) - MARKDOWN_ROWS} more {title}s changed", "", "", "", ""])
    out += _table(["", "Old", "New", "Change", "%"], "lrrrr", rows)
    groups = reject_groups([*impact.only_old, *impact.only_new])
    if groups:
        out += ["", "Records billed by one book only (`--format json` lists each):", ""]
        out += _table(["Billed by", "Records", "The other book says"], "lrl",
                      [[f"{who} book", f"{len(found)}: `{_code(where_list(found, MARKDOWN_PLACES))}`",
                        f"{code}: {reason}"] for who, code, reason, found in groups[:MARKDOWN_ROWS]])
    return out


def _priced(currency: str, price: Decimal | None) -> str:
    return "—" if price is None else f"{currency} {written(price)}"


def _table(header: list[str], align: str, rows: list[list[str]]) -> list[str]:
    rule = ["---:" if a == "r" else "---" for a in align]
    return [_row(header), _row(rule)] + [_row([_cell(cell) for cell in row]) for row in rows]


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _cell(text: str) -> str:
    """Text safe in a Markdown table cell or list item: pipes escaped (in `code spans` too, as tables need), no
    line breaks, nothing an HTML tag could start with; a backslash outside code spans kept literal."""
    parts = text.replace("\n", " ").split("`")
    return "`".join(part.replace("|", "\\|") if i % 2 else _plain_cell(part) for i, part in enumerate(parts))


def _plain_cell(text: str) -> str:
    return _TAG_START.sub("&lt;", text.replace("\\", "\\\\").replace("|", "\\|"))


def _code(text: str) -> str:
    return text.replace("`", "'")
