"""`ratecard page`: the price page holds the book's numbers, writes the examples the documents' way, escapes
the book's text, needs no network, and is written atomically without replacing an input."""

from __future__ import annotations

import os
import re
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
import ratecard
from conftest import AI_CENTER, STARROCKS
from ratecard.cli.ratecard import main
from ratecard.page import UnknownPageCurrency, build_page, page_html, page_markdown

DATED = os.path.join(os.path.dirname(__file__), "books", "dated-days-quota.rules")


class PageReader(HTMLParser):
    """The prices, not-billed cells, tier bounds, examples and resource references of a price page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.prices: dict[tuple, str] = {}  # (model, regions, table, tier, currency, token type) -> price
        self.cell_texts: dict[tuple, str] = {}
        self.not_billed: set[tuple] = set()  # (model, regions, table, tier, token type)
        self.bounds: dict[tuple, tuple[int, int | None]] = {}  # (model, regions, table, tier) -> (lower, upper)
        self.examples: list[dict[str, str]] = []  # per example, its article's data attributes
        self.steps: list[list[str]] = []  # per example, its computation
        self.results: list[dict[str, str]] = []  # per example, the result's data attributes
        self.references: list[str] = []  # every src and href
        self.elements: list[str] = []
        self.titles: list[str] = []  # the text of every h1 and h3
        self.charts: list[dict] = []  # per chart: its tiers and bounds
        self._regions: list[str] = []
        self._model = self._table = None
        self._tier = None
        self._cell = None
        self._text: list[str] | None = None
        self._collect = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.elements.append(tag)
        self.references += [value for name, value in attrs if name in ("src", "href", "xlink:href")]
        classes = (a.get("class") or "").split()
        if tag == "section" and "group" in classes:
            self._regions = []
        if tag == "tr" and "data-region" in a:
            self._regions.append(a["data-region"])
        if tag == "table" and "prices" in classes:
            self._model, self._table = a["data-model"], a["id"]
        if tag == "tr" and "tier" in classes:
            self._tier = int(a["data-tier"])
            upper = int(a["data-upper"]) if "data-upper" in a else None
            self.bounds[(self._model, frozenset(self._regions), self._table_number(), self._tier)] = \
                (int(a["data-lower"]), upper)
        if tag == "td" and "price" in classes and self._tier is not None:
            key = (self._model, frozenset(self._regions), self._table_number(), self._tier)
            if "not-billed" in classes:
                self.not_billed.add(key + (a["data-token-type"],))
            elif "data-price" in a:
                self._cell = key + (a["data-currency"], a["data-token-type"])
                self.prices[self._cell] = a["data-price"]
                self._text = []
        if tag == "article" and "example" in classes:
            self.examples.append(a)
        if tag == "div" and "computation" in classes:
            self.steps.append([])
        if tag == "div" and "step" in classes:
            self._text, self._collect = [], "step"
        if tag == "p" and "result" in classes:
            self.results.append(a)
        if tag in ("h1", "h3"):
            self._text, self._collect = [], "title"
        if tag == "figure" and "chart" in classes:
            self.charts.append({"tiers": [], "bounds": [], "currency": a["data-currency"]})
        if tag == "path" and "series" in classes:
            self.charts[-1]["tiers"].append(int(a["data-tier"]))
        if tag == "line" and "bound" in classes:
            self.charts[-1]["bounds"].append(int(a["data-tokens"]))

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cell_texts[self._cell] = "".join(self._text)
            self._cell = self._text = None
        if tag == "table":
            self._tier = None
        if tag == "div" and self._collect == "step":
            self.steps[-1].append("".join(self._text))
            self._text = self._collect = None
        if tag in ("h1", "h3") and self._collect == "title":
            self.titles.append("".join(self._text))
            self._text = self._collect = None

    def handle_data(self, data):
        if self._text is not None:
            self._text.append(data)

    def _table_number(self) -> int:
        return int(self._table.rsplit("-", 1)[1])


def read_page(text: str) -> PageReader:
    reader = PageReader()
    reader.feed(text)
    reader.close()
    return reader


def book_tables(book, currencies=None):
    """What the page must show, from the PriceBook itself: prices, not-billed cells and bounds, keyed as above."""
    regions_of: dict[int, set[str]] = {}
    for offer in book.offers.values():
        regions_of.setdefault(id(offer.tables), set()).add(offer.region.id)
    prices, not_billed, bounds = {}, set(), {}
    for offer in book.offers.values():
        regions = frozenset(regions_of[id(offer.tables)])
        for number, table in enumerate(offer.tables, start=1):
            for tier in table.tiers:
                key = (offer.model, regions, number, tier.index)
                bounds[key] = (tier.lower, tier.upper)
                not_billed |= {key + (t,) for t in tier.not_billed}
                for currency, by_type in tier.prices.items():
                    if currencies is None or currency in currencies:
                        prices.update({key + (currency, t): str(p.per_unit) for t, p in by_type.items()})
    return prices, not_billed, bounds


@pytest.mark.parametrize("name", [STARROCKS, AI_CENTER, DATED])
def test_every_price_of_the_book_is_on_the_page_in_its_currency_and_tier(name):
    book = ratecard.load(name)
    page = read_page(page_html(book))
    prices, not_billed, bounds = book_tables(book)
    assert page.prices == prices
    assert page.cell_texts == prices  # the shown text is the price as written (`0.000480`), not a float
    assert page.not_billed == not_billed
    assert page.bounds == bounds


def test_the_seed_prices_by_hand(starrocks):
    """Spot checks against the seed document, written out by hand."""
    page = read_page(page_html(starrocks))
    china = frozenset(["cn-beijing", "cn-shanghai", "cn-hangzhou", "cn-shenzhen", "cn-qingdao", "cn-zhangjiakou",
                       "cn-wulanchabu"])
    assert page.prices[("qwen-plus", china, 1, 2, "USD", "output")] == "0.003442"
    assert page.bounds[("qwen-plus", china, 1, 2)] == (128_000, 256_000)
    international = frozenset(["cn-hongkong", "ap-southeast-1", "eu-central-1", "us-east-1", "us-west-1",
                               "ap-northeast-1", "ap-southeast-5", "na-south-1"])
    assert page.prices[("qwen-plus", international, 1, 1, "USD", "input")] == "0.000480"
    assert page.bounds[("qwen-plus", international, 1, 2)] == (256_000, 1_000_000)


def test_one_currency_shows_only_its_prices(ai_center):
    page = read_page(page_html(ai_center, currency="CNY"))
    assert page.prices == book_tables(ai_center, {"CNY"})[0]
    assert sorted(page.prices.values()) == ["0.00096", "0.0024"]


def test_a_currency_the_book_has_no_prices_in_is_E520(starrocks):
    with pytest.raises(UnknownPageCurrency) as raised:
        page_html(starrocks, currency="EUR")
    assert raised.value.code == "E520" and "it prices in USD" in raised.value.hint


def test_the_ai_function_example_is_written_as_its_document_writes_it(starrocks):
    page = read_page(page_html(starrocks))
    assert page.steps == [["Cost = Input Cost + Output Cost",
                           "= 0.000480 × 750/1000 + 0.001440 × 20/1000",
                           "= 0.000360 + 0.000029",
                           "= USD 0.000389"]]
    assert page.results == [{"class": "result", "data-currency": "USD", "data-total": "0.000389",
                             "data-exact": "0.0003888", "data-tier": "1"}]


def test_the_ai_center_example_is_written_as_its_document_writes_it(ai_center):
    page = read_page(page_html(ai_center))
    assert page.steps == [["0.00096 × 260 × 10000 ÷ 1000 + 0.0024 × 50 × 10000 ÷ 1000 = 3.696 CNY"]]
    assert page.results[0]["data-total"] == "3.696000" and page.results[0]["data-exact"] == "3.696"


ROUNDED_PARTS = '''
region r1 "Region One"
book parts "Parts" {
  currency USD
  price per 1K tokens
  cycle hourly in UTC
  round 6 half-up
  model m { r1 { input 0.0015   output 0.0015 } }
  example "two halves" { r1 m input 19 output 19 => USD 0.000057 }
}
'''


def test_rounded_parts_add_up_to_the_total_as_a_bills_lines_do():
    """Each part is 0.0000285; rounded alone, both would be 0.000029 and add up to 0.000058, not the total."""
    page = build_page(ratecard.loads(ROUNDED_PARTS))
    assert page.examples[0].steps == ("Cost = Input Cost + Output Cost",
                                      "= 0.0015 × 19/1000 + 0.0015 × 19/1000",
                                      "= 0.000028 + 0.000029",
                                      "= USD 0.000057")


TRIAL = '''
region r1 "Region One"
book trial-book "Trial" {
  currency USD
  price per 1K tokens
  cycle hourly in UTC+8
  round 6 half-up
  trial until 2026-04-08T00:00+08:00 "launch trial"
  model m { r1 { input 0.002   output 0.004 } }
  example "in the trial" { r1 m input 1000 output 500 at 2026-04-01T10:00+08:00 => USD 0 }
  example "ten in the trial" { r1 m input 1000 output 500 requests 10 at 2026-04-01T10:00+08:00 => USD 0 }
}
'''


def test_a_trial_credit_is_written_out():
    first, second = build_page(ratecard.loads(TRIAL)).examples
    assert first.steps == ("Cost = Input Cost + Output Cost", "= 0.002 × 1000/1000 + 0.004 × 500/1000",
                           "= 0.002000 + 0.002000", "= USD 0.004000 at list price",
                           "- USD 0.004000 trial credit: launch trial", "= USD 0.000000")
    assert second.steps == ("0.002 × 1000 × 10 ÷ 1000 + 0.004 × 500 × 10 ÷ 1000 = 0.04 USD at list price",
                            "- 0.04 USD trial credit: launch trial", "= 0 USD")
    assert first.problem is None and second.result == "USD 0.000000"


def test_an_example_the_book_does_not_hold_is_shown_with_the_engines_number():
    book = ratecard.loads(ROUNDED_PARTS.replace("=> USD 0.000057", "=> USD 0.000058"))
    worked = build_page(book).examples[0]
    assert worked.result == "USD 0.000057"
    assert "expects USD 0.000058 but the book gives USD 0.000057" in worked.problem


def test_the_chart_steps_at_the_tier_bounds(starrocks):
    page = read_page(page_html(starrocks))
    assert page.charts == [{"tiers": [1, 2, 3], "bounds": [128_000, 256_000], "currency": "USD"},
                           {"tiers": [1, 2], "bounds": [256_000], "currency": "USD"}]
    chart = build_page(starrocks).models[0].groups[0].tables[0].chart
    assert (chart.low, chart.high) == (1_000, 1_000_000)
    first_of_tier_2 = chart.series[1].points[0]
    # 128,001 input tokens at 0.000414 and 25,600 output tokens at 0.003442 per 1K tokens
    assert (first_of_tier_2.tokens, first_of_tier_2.cost) == (128_001, Decimal("0.141107614"))
    assert chart.series[0].points[-1].cost == Decimal("0.0264704")  # 128,000 x 0.000138 + 25,600 x 0.000344, per 1K


def test_the_ai_center_shows_its_trial_and_not_billed_output(ai_center):
    text = page_html(ai_center)
    assert "Usage before 2026-04-08 00:00 UTC+8 costs nothing" in text
    assert 'data-not-billed="output"' in text and "Output tokens are not billed." in text


HOSTILE = '''
region r1 "<b>Bold</b> & \\"quoted\\""
book hostile "<script>alert('x')</script> | *bold* [link](javascript:x) `code`" {
  currency USD
  price per 1K tokens
  cycle hourly in UTC
  round 6 half-up
  trial until 2026-01-01T00:00Z "<img src=x onerror=alert(1)>"
  model m { r1 { input 0.001   output 0.002 } }
  example "<i>x</i> | y" { r1 m input 1000 output 1000 at 2026-02-01T00:00Z => USD 0.003 }
}
'''


def test_the_books_text_is_escaped_in_html():
    book = ratecard.loads(HOSTILE)
    text = page_html(book)
    assert "<script" not in text and "<img" not in text and "<b>" not in text and "<i>" not in text
    page = read_page(text)
    assert page.titles[0] == book.title  # shown as written, as text
    assert "<i>x</i> | y" in page.titles
    assert set(page.elements) <= {"html", "head", "meta", "title", "style", "body", "main", "header", "h1", "p",
                                  "code", "nav", "a", "section", "h2", "div", "table", "thead", "tr", "th", "tbody",
                                  "td", "ul", "li", "aside", "strong", "h3", "h4", "span", "figure", "svg", "line",
                                  "text", "path", "figcaption", "article", "footer"}


def test_the_books_text_is_inert_in_markdown():
    text = page_markdown(ratecard.loads(HOSTILE))
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert r"# &lt;script>alert('x')&lt;/script> \| \*bold\* \[link\](javascript:x) \`code\`" in text
    assert r"| `r1` | &lt;b>Bold&lt;/b> &amp; " in text


def markdown_tables(text: str) -> dict[str, list[list[str]]]:
    """The price table under each `### model` and `#### group`: its header and rows, cells split on unescaped |."""
    tables: dict[str, list[list[str]]] = {}
    model = group = None
    block: list[list[str]] = []
    for line in text.splitlines() + [""]:
        if line.startswith("|"):
            if not line.startswith("| ---") and not line.startswith("|---"):
                block.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
            continue
        if block and block[0][0] != "Region ID" and group is not None:
            tables[f"{model}: {group}"] = block
        block = []
        if line.startswith("### "):
            model, group = line[4:], None
        elif line.startswith("#### "):
            group = line[5:]
    return tables


def test_markdown_price_tables_hold_the_books_prices(ai_center):
    tables = markdown_tables(page_markdown(ai_center))
    assert tables["qwen-plus: Group china"] == [
        ["Token range", "Exact bounds", "Input price (USD/1K tokens)", "Input price (CNY/1K tokens)",
         "Output price (USD/1K tokens)", "Output price (CNY/1K tokens)"],
        ["0 < T ≤ 128K", "0 < T ≤ 128,000", "0.000138", "0.00096", "0.000344", "0.0024"],
        ["128K < T ≤ 256K", "128,000 < T ≤ 256,000", "0.000414", "—", "0.003442", "—"],
        ["256K < T ≤ 1M", "256,000 < T ≤ 1,000,000", "0.000827", "—", "0.008257", "—"]]
    assert tables["qwen-plus: Group international"][1:] == [
        ["0 < T ≤ 256K", "0 < T ≤ 256,000", "0.000480", "0.001440"],
        ["256K < T ≤ 1M", "256,000 < T ≤ 1,000,000", "0.001440", "0.004320"]]
    assert tables["text-embedding-v4: Group china"] == [["Input price (USD/1K tokens)", "Output tokens"],
                                                        ["0.000086", "not billed"]]
    assert tables["text-embedding-v4: Group international"][1] == ["0.000084", "not billed"]


def test_markdown_writes_the_examples_as_the_documents_do(starrocks, ai_center):
    assert ("```text\nCost = Input Cost + Output Cost\n= 0.000480 × 750/1000 + 0.001440 × 20/1000\n"
            "= 0.000360 + 0.000029\n= USD 0.000389\n```") in page_markdown(starrocks)
    assert ("```text\n0.00096 × 260 × 10000 ÷ 1000 + 0.0024 × 50 × 10000 ÷ 1000 = 3.696 CNY\n```"
            in page_markdown(ai_center))
    assert "| `cn-hangzhou` | China (Hangzhou), Hangzhou |" in page_markdown(ai_center)


@pytest.mark.parametrize("name", [STARROCKS, AI_CENTER])
def test_the_page_needs_no_network(name):
    text = page_html(ratecard.load(name))
    page = read_page(text)
    assert all(reference.startswith("#") for reference in page.references)
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.elements)
    assert "http" not in text and "url(" not in text and "@import" not in text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text


def test_out_replaces_the_file_atomically(tmp_path, starrocks):
    out = tmp_path / "prices.html"
    out.write_text("old page")
    kept = tmp_path / "link-to-old"
    os.link(out, kept)  # a hard link to the old file: a rename leaves it alone, writing in place would not
    assert main(["page", STARROCKS, "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == page_html(starrocks)
    assert kept.read_text() == "old page"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link-to-old", "prices.html"]  # no temporary left


def test_out_by_suffix_writes_markdown(tmp_path, ai_center):
    assert main(["page", AI_CENTER, "--out", str(tmp_path / "prices.md")]) == 0
    assert (tmp_path / "prices.md").read_text(encoding="utf-8") == page_markdown(ai_center)


def test_out_never_replaces_an_input(tmp_path, capsys):
    book = tmp_path / "parts.rules"
    book.write_text(ROUNDED_PARTS)
    assert main(["page", str(book), "--out", str(book)]) == 2
    assert book.read_text() == ROUNDED_PARTS
    assert "a file this run reads" in capsys.readouterr().err


def test_standard_output_and_an_unknown_currency(capsys):
    assert main(["page", STARROCKS, "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("# E-MapReduce StarRocks AI Function\n")
    assert main(["page", STARROCKS, "--currency", "CNY"]) == 2
    assert "error[E520]: emr-starrocks-ai-function has no prices in 'CNY'" in capsys.readouterr().err


BEYOND_THE_TOP = '''
region r1 "Region One"
book b "B" {
  currency USD
  price per 1K tokens
  cycle hourly in UTC
  round 6 half-up
  model m { tier by input tokens per request
    r1 { 0 < T <= 1K   input 0.001   output 0.002 } }
  example "too big" { r1 m input 2000 output 1 => USD 0.003 }
}
'''


def test_an_example_that_cannot_be_priced_is_shown_with_the_reason():
    worked = build_page(ratecard.loads(BEYOND_THE_TOP)).examples[0]
    assert worked.steps == () and worked.quote is None
    assert "beyond the highest tier of m in r1" in worked.problem
    assert "This example does not hold" in page_html(ratecard.loads(BEYOND_THE_TOP))


DOCS = os.path.join(os.path.dirname(__file__), os.pardir, "docs", "page.md")


def test_the_documented_excerpts_are_what_the_command_writes():
    text = Path(DOCS).read_text(encoding="utf-8")
    excerpts = re.findall(r"<!-- excerpt of: ratecard page (\S+)( --format markdown)? -->\n```\w+\n(.*?)\n```",
                          text, re.DOTALL)
    assert len(excerpts) == 4
    for name, markdown, excerpt in excerpts:
        book = ratecard.load(name)
        assert excerpt in (page_markdown(book) if markdown else page_html(book))


def test_regression_the_page_says_when_each_time_window_applies_and_how_variants_stack():
    """The page showed `deepseek-chat [off-peak]` prices without the hours of off-peak, and variants without
    how a request names them or how they stack."""
    windows = ratecard.load(str(Path(__file__).parent / "books" / "windows.rules"))
    text = page_markdown(windows)
    assert "| Time window off-peak | every day, 16:30 to 00:30 in UTC |" in text
    assert "| Time window weekend | every week, sun 09:00 to mon 00:00 in UTC+8 |" in text
    assert "| Variant multipliers | processing batch: every model's prices × 0.5 |" in text
    assert "The time of the request chooses the window" in text
    variants = page_markdown(ratecard.load(str(Path(__file__).parent / "books" / "variants.rules")))
    assert "in the order service\\_tier, processing, endpoint" in variants
    assert "No request names both a service\\_tier and a processing." in variants


@pytest.mark.parametrize("hour", [12, 20])  # outside off-peak, and in it
def test_regression_a_window_sections_chart_does_not_depend_on_the_time_the_page_is_made(monkeypatch, hour):
    """Charts were quoted at the time the page was made: at noon the off-peak chart was left out (E110), and
    in off-peak hours the model's own chart showed off-peak prices beside its standard table."""
    import datetime as dt

    import ratecard.pagemodel as pagemodel

    class Fixed(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 6, 1, hour, tzinfo=dt.UTC).astimezone(tz)
    monkeypatch.setattr(pagemodel, "datetime", Fixed)
    windows = ratecard.load(str(Path(__file__).parent / "books" / "windows.rules"))
    charts = {model.name: group.tables[0].chart for model in build_page(windows).models for group in model.groups}
    assert all(chart is not None for chart in charts.values()), [n for n, c in charts.items() if c is None]
    first = {name: chart.series[0].points[0] for name, chart in charts.items()}
    # the same request in each section (output: input // OUTPUT_RATIO tokens), at the section's prices
    own, off_peak = first["deepseek-chat"], first["deepseek-chat [off-peak]"]
    assert own.tokens == off_peak.tokens and off_peak.cost * 2 == own.cost
    output = own.tokens // pagemodel.OUTPUT_RATIO
    assert own.cost == (Decimal(own.tokens) * Decimal("0.27") + Decimal(output) * Decimal("1.10")) / 10**6


def test_regression_a_window_chart_is_quoted_while_its_table_is_in_force():
    """DeepSeek's off-peak table ends at 16:00 UTC on 2025-09-05: its chart was quoted at 16:30 that day, after
    the end, at the model's own prices, beside a table of half prices."""
    from test_windows import BOOK
    book = ratecard.loads(BOOK.replace("    variant off-peak * 0.5\n", "    variant off-peak {\n      global effective "
                                       "until 2025-09-05T16:00Z   { input 0.135   output 0.55 }\n    }\n"))
    sections = [model for model in build_page(book).models if model.name == "deepseek-chat [off-peak]"]
    first = sections[0].groups[0].tables[0]  # until 2025-09-05T16:00Z
    point = first.chart.series[0].points[0]  # 100 input and 20 output tokens at 0.135 and 0.55 per 1M
    assert (point.tokens, point.cost) == (100, Decimal("0.0000245"))


def test_regression_exclusive_with_the_window_field_is_said_as_it_prices():
    """`exclusive processing, window` was shown as `No request names both a processing and a window`, but no
    request names a window: a batch request in off-peak hours pays batch prices, no window's."""
    path = Path(__file__).parent / "books" / "windows.rules"
    book = ratecard.loads(path.read_text().replace("  variant processing = batch * 0.5\n",
                                                   "  variant processing = batch * 0.5\n  exclusive processing, window\n"),
                          name=str(path))
    text = page_markdown(book)
    assert "A request that names a processing pays no time window's prices." in text
    assert "No request names both" not in text
    quote = book.quote(region="global", model="deepseek-reasoner", tokens={"input": 1_000_000, "output": 0},
                       at="2026-05-05T17:00Z", variants="batch")
    assert (quote.variant, quote.total) == (("batch",), Decimal("0.275"))  # 0.55 x 0.5, not off-peak's 0.135
