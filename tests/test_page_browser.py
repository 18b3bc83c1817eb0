"""The price page in a real headless Chromium: it renders, its tables hold the book's numbers, its examples'
results are what `ratecard quote` prints, its charts are drawn, and it fits a phone's width.

Chromium is required, not optional: without it these tests fail and say how to install it (`.ci/run`
installs Debian's `chromium`). The browser runs with a fresh profile, no network and no sandbox (CI runs
as root). A phone-sized screenshot is kept in $RATECARD_SCREENSHOT_DIR when set, else in the test's
temporary directory; never in the repository.
"""

from __future__ import annotations

import html
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
import ratecard
from conftest import AI_CENTER, STARROCKS
from test_page import book_tables, read_page

pytestmark = pytest.mark.xdist_group("browser")  # one worker: its module fixtures start once

CHROMIUM = os.environ.get("RATECARD_CHROMIUM", "/usr/bin/chromium")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND")  # nothing can be fetched: the page must need nothing
PHONE = (390, 844)
BOOKS = (STARROCKS, AI_CENTER)


def chromium(workdir: Path, *args: str, browser: str = CHROMIUM) -> str:
    """Run headless Chromium with a fresh profile under `workdir`; gives its standard output."""
    if not os.access(browser, os.X_OK):
        pytest.fail(f"Chromium is missing ({browser}): the price page is tested in a real browser. Install it "
                    "with `apt-get install chromium chromium-driver` (.ci/run does), or point RATECARD_CHROMIUM "
                    "at one", pytrace=False)
    profile = workdir / f"profile-{len(list(workdir.glob('profile-*')))}"
    result = subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, check=False,
                            timeout=120, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def ratecard_cli(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "ratecard.cli.ratecard", *args], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """Each shipped book's page, written by `ratecard page --out`."""
    directory = tmp_path_factory.mktemp("pages")
    written = {}
    for name in BOOKS:
        written[name] = directory / f"{name}.html"
        ratecard_cli("page", name, "--out", str(written[name]))
    return written


@pytest.fixture(scope="module")
def rendered(pages, tmp_path_factory) -> dict[str, str]:
    """Each page's DOM as Chromium built it."""
    workdir = tmp_path_factory.mktemp("chromium")
    return {name: chromium(workdir, "--dump-dom", path.as_uri()) for name, path in pages.items()}


@pytest.mark.parametrize("name", BOOKS)
def test_the_rendered_tables_hold_the_books_numbers(rendered, name):
    book = ratecard.load(name)
    dom = read_page(rendered[name])
    prices, not_billed, bounds = book_tables(book)
    assert dom.prices == prices and dom.cell_texts == prices
    assert dom.not_billed == not_billed and dom.bounds == bounds
    assert dom.titles[0] == book.title


@pytest.mark.parametrize("name", BOOKS)
def test_the_examples_results_are_what_ratecard_quote_prints(rendered, name):
    dom = read_page(rendered[name])
    assert len(dom.examples) == len(ratecard.load(name).examples) == len(dom.results) == 1
    for example, result in zip(dom.examples, dom.results):
        tokens = dict(pair.split("=") for pair in example["data-tokens"].split())
        args = ["quote", name, "--region", example["data-place"], "--model", example["data-model"],
                "--input", tokens.pop("input", "0"), "--output", tokens.pop("output", "0"),
                "--requests", example["data-requests"], "--currency", result["data-currency"],
                *(f"--tokens={t}={c}" for t, c in tokens.items()),
                *(["--at", example["data-at"]] if "data-at" in example else [])]
        printed = re.search(r"^Total: (\S+) (\S+)   \(exact (\S+)\)$", ratecard_cli(*args), re.MULTILINE)
        assert printed.groups() == (result["data-currency"], result["data-total"], result["data-exact"])
    expected = {STARROCKS: "USD 0.000389", AI_CENTER: "CNY 3.696000"}[name]
    assert f"Result: <strong>{expected}</strong>" in rendered[name]


@pytest.mark.parametrize("name", BOOKS)
def test_the_charts_are_drawn(rendered, name):
    dom = read_page(rendered[name])
    book = ratecard.load(name)
    tables = {id(offer.tables): offer.tables for offer in book.offers.values()}
    assert len(dom.charts) == sum(len(t) for t in tables.values())  # one per price table
    assert dom.charts[0] == {"tiers": [1, 2, 3], "bounds": [128_000, 256_000], "currency": "USD"}
    assert rendered[name].count("<svg ") == len(dom.charts)


HARNESS = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="page" style="border:0;width:{width}px;height:{height}px" srcdoc="{page}"></iframe><div id="out"></div>
<script>
window.addEventListener("load", () => {{
  const page = document.getElementById("page").contentDocument, out = document.getElementById("out");
  const widths = selector => [...page.querySelectorAll(selector)].map(e => Math.ceil(e.getBoundingClientRect().right));
  out.dataset.viewport = page.documentElement.clientWidth;
  out.dataset.scrollWidth = page.documentElement.scrollWidth;
  out.dataset.charts = widths("svg.chart").join(" ");
  out.dataset.boxes = widths(".scroll").join(" ");
  out.dataset.font = getComputedStyle(page.body).fontSize;
}});
</script></body></html>"""


def test_the_page_fits_a_phone(pages, tmp_path):
    """In a 390 px wide frame (a phone), nothing makes the page scroll sideways: wide tables scroll in their box."""
    width, height = PHONE
    harness = tmp_path / "phone.html"
    harness.write_text(HARNESS.format(width=width, height=height,
                                      page=html.escape(pages[AI_CENTER].read_text(encoding="utf-8"), quote=True)),
                       encoding="utf-8")
    out = re.search(r'<div id="out" ([^>]*)>', chromium(tmp_path, "--dump-dom", harness.as_uri())).group(1)
    measured = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', out))
    assert measured["viewport"] == measured["scroll-width"] == str(width)
    assert measured["font"] == "16px"
    charts = [int(right) for right in measured["charts"].split()]
    boxes = [int(right) for right in measured["boxes"].split()]
    assert len(charts) == 4 and all(300 < right <= width for right in charts)
    assert len(boxes) == 10 and all(right <= width for right in boxes)


def test_a_phone_screenshot_is_kept_out_of_the_repository(pages, tmp_path):
    where = Path(os.environ.get("RATECARD_SCREENSHOT_DIR") or tmp_path)
    where.mkdir(parents=True, exist_ok=True)
    screenshot = where / "price-page-phone.png"
    screenshot.unlink(missing_ok=True)
    chromium(tmp_path, f"--screenshot={screenshot}", f"--window-size={PHONE[0]},{PHONE[1]}", pages[STARROCKS].as_uri())
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", data[16:24]) == PHONE  # the IHDR chunk's width and height
    assert len(data) > 20_000  # a page of text and tables, not a blank frame
    repository = Path(__file__).resolve().parent.parent
    assert repository not in screenshot.resolve().parents


def test_a_missing_chromium_fails_and_says_how_to_install_it(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="apt-get install chromium"):
        chromium(tmp_path, "--version", browser=str(tmp_path / "no-chromium"))
