"""`rulecheck --format sarif`: diagnostics as a SARIF 2.1.0 log, for code scanning.

Takes the diagnostics of one `rulecheck` run and gives one SARIF log: a run
whose tool is `rulecheck`, one rule (reporting descriptor) per code that
occurs, with its title and a link to its section of docs/diagnostics.md, and
one result per diagnostic, located by its file (relative to the working
directory, under the base `%SRCROOT%`, which code scanning reads as the
repository root) and its span. SARIF columns are 1-based and a region's end
column is the one after its last character, as in `Span`.

The links are absolute when the installed package names its repository or
source (`[project.urls] Repository`), else relative to the repository root.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..errors import Diagnostic
from .render import message_with_hint

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"
DIAGNOSTICS_DOC = "docs/diagnostics.md"

# The title of each code, as its heading in docs/diagnostics.md reads "## CODE — title" (a test holds them equal).
TITLES = {
    "R001": "syntax error",
    "R002": "unreadable file",
    "R003": "include cycle",
    "R004": "include leaves the rules root",
    "R005": "not exactly one book",
    "R006": "unknown book",
    "R010": "unknown region",
    "R011": "region declared twice",
    "R012": "region in two groups",
    "R013": "unknown group or region in a rate table",
    "R014": "group defined twice",
    "R015": "model defined twice, or a name of two models",
    "R016": "currency problem",
    "R017": "setting given twice",
    "R019": "token type priced twice in a tier, or counted twice in a selector",
    "R020": "gap between tiers",
    "R021": "overlapping tiers",
    "R022": "tiers out of order",
    "R023": "first tier does not start at 0",
    "R024": "bad tier bound",
    "R025": "missing rate",
    "R026": "negative price",
    "R027": "zero price (warning)",
    "R028": "price more precise than the rounding (warning)",
    "R029": "mixed currencies in a tier",
    "R030": "overlapping effective dates",
    "R031": "bad quota",
    "R032": "worked example disagrees",
    "R033": "unknown token type",
    "R034": "bad setting value",
    "R035": "missing setting",
    "R036": "bad worked example",
    "R037": "price beyond the digits money keeps",
    "R038": "pricing unit too large",
    "R039": "count beyond the limit",
    "R040": "quota window too long",
    "R041": "date out of range",
    "R042": "price change out of order",
    "R043": "unknown unit",
    "R044": "one meter priced in two units",
    "R045": "not counted in tokens",
    "R046": "bad variant",
    "R047": "variant prices what its model does not",
    "R048": "bad exclusive rule",
    "R049": "bad time window",
    "R050": "overlapping time windows",
    "R051": "too many variant combinations",
}


def heading_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def sarif_log(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    """The SARIF log of one rulecheck run."""
    base = _project_uri()
    codes = sorted({d.code for d in diagnostics})
    index = {code: number for number, code in enumerate(codes)}
    driver = {
        "name": "rulecheck",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": base + DIAGNOSTICS_DOC,
        "rules": [_rule(code, diagnostics, base) for code in codes],
    }
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "columnKind": "unicodeCodePoints",  # a Span's column counts characters
            "results": [_result(d, index[d.code]) for d in diagnostics],
        }],
    }


def _rule(code: str, diagnostics: Sequence[Diagnostic], base: str) -> dict[str, Any]:
    title = TITLES.get(code, code)
    level = "error" if any(d.is_error for d in diagnostics if d.code == code) else "warning"
    return {
        "id": code,
        "name": "".join(word[:1].upper() + word[1:] for word in re.findall(r"[A-Za-z0-9]+", title)),
        "shortDescription": {"text": title},
        "helpUri": f"{base}{DIAGNOSTICS_DOC}#{heading_anchor(f'{code} — {title}')}",
        "defaultConfiguration": {"level": level},
    }


def _result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    span = diagnostic.span
    physical: dict[str, Any] = {"artifactLocation": _artifact(span.path)}
    if span.line > 0:
        physical["region"] = {"startLine": span.line, "startColumn": span.column,
                              "endLine": span.end_line, "endColumn": span.end_column}
    return {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": "error" if diagnostic.is_error else "warning",
        "message": {"text": message_with_hint(diagnostic)},
        "locations": [{"physicalLocation": physical}],
    }


def _artifact(path: str) -> dict[str, str]:
    """A file below the working directory relative to `%SRCROOT%`; any other by its absolute URI."""
    resolved = Path(path).resolve()
    root = Path.cwd().resolve()
    if resolved.is_relative_to(root):
        return {"uri": quote(resolved.relative_to(root).as_posix()), "uriBaseId": SOURCE_ROOT}
    return {"uri": resolved.as_uri()}


def _project_uri() -> str:
    """Where the project's files are read on the web, from the package's metadata; "" when it names none."""
    from importlib.metadata import PackageNotFoundError, metadata
    try:
        urls = metadata("ratecard").get_all("Project-URL") or []
    except PackageNotFoundError:
        return ""
    named = dict(entry.split(", ", 1) for entry in urls if ", " in entry)
    for label in ("Repository", "Source"):
        if label in named:
            return named[label].rstrip("/") + "/blob/main/"
    return ""
