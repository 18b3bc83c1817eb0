"""The price page as one self-contained HTML document.

Takes a `Page` (`pagemodel.py`) and gives an HTML document that needs nothing else:
inline CSS, an inline SVG chart per price table, no scripts, fonts or other
files, so it opens the same from a disk, a mail or an artifact store, and
reads on a phone (a viewport, tables that scroll sideways inside their boxes).
Every text from the book is escaped. Elements carry stable ids, classes and
data attributes (`data-model`, `data-group`, `data-tier`, `data-token-type`,
`data-currency`, `data-price`, `data-total`) so that tools and tests can read
the prices and the examples' results back.
"""

from __future__ import annotations

import html
import math
import os
from decimal import Decimal

from . import __version__
from .money import plain
from .pagemodel import (
    NO_PRICE,
    Chart,
    ModelSection,
    Page,
    PriceTable,
    RegionGroup,
    WorkedExample,
    display_range,
    type_name,
)
from .tables import Tier

#: Tier colours of the charts (and their legends), in tier order.
TIER_COLOURS = ("#0b57d0", "#c2410c", "#15803d", "#9333ea", "#be123c", "#0e7490")

CSS = """
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--soft:#f6f8fa;--accent:#0b57d0}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9da7b3;--line:#30363d;--soft:#161b22;
--accent:#6ea8fe}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:var(--bg)}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.55rem;line-height:1.25;margin:.25rem 0 .5rem}
h2{font-size:1.3rem;margin:2rem 0 .5rem;padding-bottom:.25rem;border-bottom:1px solid var(--line)}
h3{font-size:1.15rem;margin:1.75rem 0 .25rem}
h4{font-size:1rem;margin:1.25rem 0 .25rem}
p{margin:.5rem 0}
nav{font-size:.9rem}
nav a{margin-right:.75rem;white-space:nowrap}
a{color:var(--accent)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875em}
.muted,.subtitle{color:var(--muted)}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.5rem 0;border:1px solid var(--line);border-radius:6px}
table{border-collapse:collapse;width:100%}
th,td{padding:.45rem .6rem;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
tbody tr:last-child>*{border-bottom:0}
thead th{background:var(--soft);font-size:.85rem;font-weight:600;line-height:1.3}
.facts tbody th{width:9rem;background:var(--soft);font-weight:600}
.facts ul{margin:0;padding-left:1.1rem}
@media (max-width:40rem){.facts thead{display:none}.facts tr,.facts tbody th,.facts td{display:block;width:auto}
.facts tbody th{border-bottom:0;padding-bottom:.2rem}.facts td{padding-top:.2rem}}
.price{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
thead .price{white-space:normal;min-width:5.5rem}
@media (max-width:30rem){main{padding:.75rem}th,td{padding:.4rem .45rem}thead .price{min-width:4.5rem}
.prices .bounds{white-space:normal}}
.unit{display:block;font-weight:400;color:var(--muted)}
.range{white-space:nowrap;font-weight:600}
.bounds{display:block;white-space:nowrap;font-size:.8rem;font-weight:400;color:var(--muted)}
.no-price,.not-billed{color:var(--muted)}
.not-billed{font-style:italic}
.aliases{display:block;font-size:.8rem;color:var(--muted)}
.note{margin:1rem 0;padding:.5rem .75rem;border-left:4px solid var(--accent);background:var(--soft);
border-radius:0 6px 6px 0}
.note.warning{border-left-color:#d1242f}
.note strong{display:block}
.in-force{font-size:.9rem;font-weight:600;margin-top:1rem}
figure{margin:.75rem 0 1.25rem}
svg.chart{display:block;width:100%;max-width:34rem;height:auto}
svg.chart text{font-size:10px;fill:var(--muted)}
svg.chart .axis{stroke:var(--muted);stroke-width:1}
svg.chart .grid{stroke:var(--line);stroke-width:.5}
svg.chart .bound{stroke:var(--muted);stroke-width:1;stroke-dasharray:3 3}
svg.chart .series{fill:none;stroke-width:2.5;stroke-linecap:round}
figcaption{font-size:.85rem;color:var(--muted);max-width:34rem}
.legend{list-style:none;margin:.25rem 0;padding:0;display:flex;flex-wrap:wrap;gap:.15rem 1rem;font-size:.85rem}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.35em;border-radius:2px;vertical-align:-.05em}
.computation{margin:.75rem 0;padding:.6rem .75rem;background:var(--soft);border-radius:6px;
font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9rem;line-height:1.7;overflow-wrap:anywhere}
.result{font-size:1.05rem}
.conditions tbody th{width:45%}
footer{margin-top:2.5rem;font-size:.8rem;color:var(--muted)}
"""


def esc(text: object) -> str:
    """Text (or an attribute value) from the book, escaped: titles and names are user text."""
    return html.escape(str(text), quote=True)


def render_html(page: Page) -> str:
    book = page.book
    parts = [('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
             f'<meta name="generator" content="ratecard {esc(__version__)}">\n'
             f"<title>{esc(book.title)}: prices</title>\n<style>{CSS}</style>\n</head>\n"
             f'<body>\n<main id="price-page" data-book="{esc(book.name)}" '
             f'data-currencies="{esc(" ".join(page.currencies))}">')]
    parts += _header(page)
    parts += _billing(page)
    parts += ['<section id="pricing">', "<h2>Pricing</h2>"]
    for number, model in enumerate(page.models, start=1):
        parts += _model(model, f"model-{number}")
    parts.append("</section>")
    parts += _examples(page.examples)
    parts.append(f'<footer><p>Generated by ratecard {esc(__version__)} from <code>{esc(os.path.basename(book.path))}'
                 "</code> (book <code>" + esc(book.name) + "</code>): every price and amount on this page is read "
                 "from the compiled book or computed by its engine.</p></footer>")
    parts.append("</main>\n</body>\n</html>\n")
    return "\n".join(parts)


def _header(page: Page) -> list[str]:
    book = page.book
    links = ['<a href="#billing">Billing</a>', '<a href="#pricing">Pricing</a>']
    links += [f'<a href="#model-{n}">{esc(m.name)}</a>' for n, m in enumerate(page.models, start=1)]
    if page.examples:
        links.append('<a href="#examples">Examples</a>')
    only = f", prices in {esc(', '.join(page.currencies))} only" if page.currencies != book.currencies else ""
    return ["<header>", f'<h1 id="title">{esc(book.title)}</h1>',
            f'<p class="subtitle">Price book <code>{esc(book.name)}</code>{only}</p>',
            f'<nav aria-label="Sections">{" ".join(links)}</nav>', "</header>"]


def _billing(page: Page) -> list[str]:
    rules = "".join(f"<li>{esc(rule)}</li>" for rule in page.rules)
    rows = [f'<tr id="billing-rules"><th scope="row">Billing rules</th><td><ul>{rules}</ul></td></tr>']
    rows += [f'<tr data-fact="{esc(name.lower().replace(" ", "-"))}"><th scope="row">{esc(name)}</th>'
             f"<td>{esc(text)}</td></tr>" for name, text in page.facts]
    out = ['<section id="billing">', "<h2>Billing</h2>",
           '<div class="scroll"><table class="facts">', ("<thead><tr><th scope=\"col\">Feature</th>"
           '<th scope="col">Description</th></tr></thead>'), "<tbody>", *rows, "</tbody></table></div>"]
    out += [f'<aside class="note {esc(note.kind)}" id="note-{esc(note.kind)}"><strong>{esc(note.title)}</strong>'
            f"{esc(note.text)}</aside>" for note in page.notes]
    return out + ["</section>"]


def _model(model: ModelSection, anchor: str) -> list[str]:
    out = [f'<section class="model" id="{anchor}" data-model="{esc(model.name)}">', f"<h3>{esc(model.name)}</h3>",
           f'<p class="tiering">{esc(model.tiering.capitalize())}.</p>']
    if model.aliases:
        out.append(f'<p class="aliases">Also billed under: '
                   f'{", ".join(f"<code>{esc(alias)}</code>" for alias in model.aliases)}.</p>')
    if model.not_billed:
        names = ", ".join(type_name(t) for t in model.not_billed)
        out.append(f'<p class="not-billed-types" data-not-billed="{esc(" ".join(model.not_billed))}">'
                   f"{esc(names)} tokens are not billed.</p>")
    for number, group in enumerate(model.groups, start=1):
        out += _group(model, group, f"{anchor}-group-{number}")
    return out + ["</section>"]


def _group(model: ModelSection, group: RegionGroup, anchor: str) -> list[str]:
    out = [f'<section class="group" id="{anchor}" data-group="{esc(group.group or "")}">',
           f"<h4>{esc(model.name)}: {esc(group.heading)}</h4>",
           '<div class="scroll"><table class="regions">',
           '<thead><tr><th scope="col">Region</th><th scope="col">ID</th></tr></thead>', "<tbody>"]
    for region in group.regions:
        name, *aliases = region.display_names or (region.id,)
        also = f'<span class="aliases">also: {esc(", ".join(aliases))}</span>' if aliases else ""
        out.append(f'<tr data-region="{esc(region.id)}"><td class="region-name">{esc(name)}{also}</td>'
                   f'<td><code class="region-id">{esc(region.id)}</code></td></tr>')
    out.append("</tbody></table></div>")
    for number, table in enumerate(group.tables, start=1):
        out += _price_table(model, group, table, f"{anchor}-table-{number}")
    return out + ["</section>"]


def _price_table(model: ModelSection, group: RegionGroup, table: PriceTable, anchor: str) -> list[str]:
    out = [f'<p class="in-force">In force {esc(table.in_force)}</p>'] if table.dated else []
    headings = [] if table.flat else [('<th scope="col">Token range<span class="bounds">'
                                      f"{esc(table.selector)} tokens per request</span></th>")]
    for column in table.columns:
        unit = f'<span class="unit">({esc(column.unit)})</span>' if column.unit else ""
        headings.append(f'<th scope="col" class="price" data-token-type="{esc(column.token_type)}"'
                        f'{_currency_attribute(column.currency)}>{esc(column.name)}{unit}</th>')
    out += [(f'<div class="scroll"><table class="prices" id="{anchor}" data-model="{esc(model.name)}" '
            f'data-group="{esc(group.group or "")}">'), f"<thead><tr>{''.join(headings)}</tr></thead>", "<tbody>"]
    for row in table.rows:
        tier = row.tier
        upper = "" if tier.upper is None else f' data-upper="{tier.upper}"'
        cells = [] if table.flat else [(f'<th scope="row"><span class="range">{esc(display_range(row.range))}</span>'
                                       f'<span class="bounds">{esc(display_range(row.bounds))}</span></th>')]
        for cell in row.cells:
            kind = "" if cell.price is not None else (" no-price" if cell.billed else " not-billed")
            price = f' data-price="{esc(cell.price)}"' if cell.price is not None else ""
            cells.append(f'<td class="price{kind}" data-token-type="{esc(cell.token_type)}"'
                         f'{_currency_attribute(cell.currency)}{price}>{esc(cell.text)}</td>')
        out.append(f'<tr class="tier" data-tier="{tier.index}" data-label="{esc(tier.label)}" '
                   f'data-lower="{tier.lower}"{upper}>{"".join(cells)}</tr>')
    out.append("</tbody></table></div>")
    if table.missing_currencies:
        out.append(f'<p class="muted">{NO_PRICE}: no price in {esc(", ".join(table.missing_currencies))}; a request '
                   "there cannot be priced in it.</p>")
    if table.chart is not None:
        out += _figure(table.chart, f"{anchor}-chart", model.name, group.heading)
    return out


def _currency_attribute(currency: str | None) -> str:
    return "" if currency is None else f' data-currency="{esc(currency)}"'


# --- the chart ------------------------------------------------------------------------------------

WIDTH, HEIGHT = 360, 210
LEFT, RIGHT, TOP, BOTTOM = 54, 10, 16, 34


def _figure(chart: Chart, anchor: str, model: str, group: str) -> list[str]:
    legend = "".join(f'<li data-tier="{s.tier.index}"><span class="swatch" style="background:{_colour(s.tier.index)}">'
                     f"</span>{esc(_tier_name(s.tier))}</li>" for s in chart.series)
    caption = (f"Cost in {chart.currency} of one request of {chart.request}, at list price, for N from "
               f"{chart.low:,} to {chart.high:,}. Both axes are logarithmic."
               + (" At each tier bound the whole request moves to the next tier's rates, so the cost steps."
                  if chart.bounds else ""))
    return [f'<figure class="chart" id="{anchor}" data-currency="{esc(chart.currency)}">',
            _svg(chart, anchor, f"{model}, {group}: cost of a request against its size"),
            f'<ul class="legend">{legend}</ul>', f"<figcaption>{esc(caption)}</figcaption>", "</figure>"]


def _tier_name(tier: Tier) -> str:
    return "one rate for every request size" if tier.label == "all" else \
        f"tier {tier.index}: {display_range(tier.label)}"


def _colour(tier_index: int) -> str:
    return TIER_COLOURS[(tier_index - 1) % len(TIER_COLOURS)]


def _svg(chart: Chart, anchor: str, title: str) -> str:
    """Cost against request size on log-log axes: one line per tier, a dashed line at each bound.

    Positions are floats: they are pixels, not money; the amounts are the engine's exact ones.
    """
    costs = [point.cost for series in chart.series for point in series.points]
    x_axis = _LogAxis(chart.low, chart.high, LEFT, WIDTH - RIGHT)
    y_axis = _LogAxis(min(costs), max(costs), HEIGHT - BOTTOM, TOP)
    bottom, left, right = HEIGHT - BOTTOM, LEFT, WIDTH - RIGHT
    out = [(f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-labelledby="{anchor}-title"><title id="{anchor}-title">{esc(title)}</title>')]
    for power in y_axis.powers():
        y = y_axis.at(Decimal(10) ** power)
        out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end">{plain(Decimal(10) ** power)}</text>')
    for power in x_axis.powers():
        x = x_axis.at(10 ** power)
        out.append(f'<line class="axis" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}"/>'
                   f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{_short_count(10 ** power)}</text>')
    xs = [x_axis.at(bound) for bound in chart.bounds]
    for i, (bound, x) in enumerate(zip(chart.bounds, xs)):
        # Two bounds close together (128K, 256K): their labels go left and right of their lines, not on top.
        after_close = i > 0 and x - xs[i - 1] < 28
        before_close = i + 1 < len(xs) and xs[i + 1] - x < 28
        anchor, dx = ("start", 2) if after_close else ("end", -2) if before_close else ("middle", 0)
        out.append(f'<line class="bound" data-tokens="{bound}" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{bottom}"/>'
                   f'<text x="{x + dx:.1f}" y="{TOP - 4}" text-anchor="{anchor}">{_short_count(bound)}</text>')
    for series in chart.series:
        path = " ".join(f"{'M' if i == 0 else 'L'}{x_axis.at(p.tokens):.1f},{y_axis.at(p.cost):.1f}"
                        for i, p in enumerate(series.points))
        out.append(f'<path class="series" data-tier="{series.tier.index}" stroke="{_colour(series.tier.index)}" '
                   f'd="{path}"><title>{esc(_tier_name(series.tier))}</title>'
                   "</path>")
    out.append(f'<line class="axis" x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}"/>'
               f'<line class="axis" x1="{left}" x2="{left}" y1="{TOP}" y2="{bottom}"/>'
               f'<text x="{(left + right) / 2:.1f}" y="{HEIGHT - 4}" text-anchor="middle">'
               f"N, {esc(chart.selector)} tokens per request</text>"
               f'<text x="10" y="{(TOP + bottom) / 2:.1f}" text-anchor="middle" '
               f'transform="rotate(-90 10 {(TOP + bottom) / 2:.1f})">{esc(chart.currency)} per request</text>')
    return "".join(out) + "</svg>"


class _LogAxis:
    """Values from `low` to `high` placed between two pixel positions on a log scale."""

    def __init__(self, low, high, start: float, end: float) -> None:
        self.low, self.high = math.log10(low), math.log10(high)
        if self.high - self.low < 1e-9:  # one value only: give it a decade of room
            self.low, self.high = self.low - 0.5, self.high + 0.5
        self.start, self.end = start, end

    def at(self, value) -> float:
        return self.start + (math.log10(value) - self.low) / (self.high - self.low) * (self.end - self.start)

    def powers(self) -> range:
        """The whole powers of ten on the axis."""
        return range(math.ceil(self.low - 1e-9), math.floor(self.high + 1e-9) + 1)


def _short_count(tokens: int) -> str:
    """A token count for an axis label: 1K, 128K, 1M."""
    for size, suffix in ((1_000_000, "M"), (1_000, "K")):
        if tokens >= size and tokens % (size // 10) == 0:
            return f"{plain(Decimal(tokens) / size)}{suffix}"
    return f"{tokens:,}"


# --- worked examples ------------------------------------------------------------------------------

def _examples(examples: tuple[WorkedExample, ...]) -> list[str]:
    if not examples:
        return []
    out = ['<section id="examples">', "<h2>Billing examples</h2>"]
    for number, worked in enumerate(examples, start=1):
        example = worked.example
        out += [f'<article class="example" id="example-{number}" data-place="{esc(example.place)}" '
                f'data-model="{esc(example.model)}" data-requests="{example.requests}" '
                f'data-tokens="{esc(" ".join(f"{t}={c}" for t, c in example.tokens))}"'
                + (f' data-at="{esc(example.at.isoformat())}"' if example.at else "") + ">",
                f"<h3>{esc(example.title)}</h3>",
                '<div class="scroll"><table class="conditions">',
                '<thead><tr><th scope="col">Billing condition</th><th scope="col">Value</th></tr></thead><tbody>',
                *(f'<tr><th scope="row">{esc(what)}</th><td>{esc(value)}</td></tr>' for what, value in worked.conditions),
                "</tbody></table></div>"]
        if worked.steps:
            out.append('<div class="computation">' + "".join(f'<div class="step">{esc(step)}</div>'
                                                              for step in worked.steps) + "</div>")
        if worked.quote is not None:
            quote = worked.quote
            out.append(f'<p class="result" data-currency="{esc(quote.currency)}" '
                       f'data-total="{quote.total_rounded}" data-exact="{plain(quote.total)}" '
                       f'data-tier="{quote.tier.index}">Result: <strong>{esc(worked.result)}</strong> '
                       f'<span class="muted">(exact {plain(quote.total)})</span></p>')
        if worked.problem:
            out.append(f'<aside class="note warning"><strong>This example does not hold</strong>'
                       f"{esc(worked.problem)}</aside>")
        out.append("</article>")
    return out + ["</section>"]
