"""The price page of a book: `ratecard page` and its Python API.

Takes a compiled `PriceBook` (and optionally the one currency to show) and
gives its price page, generated from the book so that it cannot disagree with
it: `page_html` gives one self-contained HTML document (inline CSS and SVG, no
network), `page_markdown` the same content as GitHub-flavoured Markdown. The
page's content is built in `pagemodel.py` and rendered by `pagehtml.py` and
`pagemarkdown.py`.

    import ratecard
    from ratecard.page import page_html
    html = page_html(ratecard.load("emr-starrocks-ai-function"))
"""

from __future__ import annotations

from .pagehtml import render_html
from .pagemarkdown import render_markdown
from .pagemodel import UnknownPageCurrency, build_page
from .tables import PriceBook

__all__ = ["UnknownPageCurrency", "build_page", "page_html", "page_markdown"]


def page_html(book: PriceBook, currency: str | None = None) -> str:
    """The price page as one self-contained HTML document; prices in every currency, or only in `currency`."""
    return render_html(build_page(book, currency))


def page_markdown(book: PriceBook, currency: str | None = None) -> str:
    """The price page as GitHub-flavoured Markdown (the HTML page's content, without the charts)."""
    return render_markdown(build_page(book, currency))

