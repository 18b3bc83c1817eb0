"""`rulecheck --format sarif`: a SARIF 2.1.0 log that code scanning takes.

The structure the SARIF 2.1.0 schema requires is checked here by hand (the schema itself is not
shipped): `version` and `runs`, a tool driver with a name, a message text for each result, 1-based
regions. Each rule's link must land on its heading in docs/diagnostics.md, and each region must
cover exactly the text the diagnostic is about.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from ratecard import __version__, check, examples, include, parse
from ratecard.cli.rulecheck import main as rulecheck
from ratecard.cli.sarif import SCHEMA, TITLES, heading_anchor
from ratecard.resources import rules_dir

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "tests" / "rulecheck" / "cases"
DOCS = ROOT / "docs" / "diagnostics.md"


def run(capsys, *args, cwd=CASES):
    before = os.getcwd()
    os.chdir(cwd)
    try:
        code = rulecheck(["--format", "sarif", *args])
    finally:
        os.chdir(before)
    out = capsys.readouterr()
    return code, json.loads(out.out), out.err


def assert_sarif_shape(log: dict) -> None:
    """What the SARIF 2.1.0 schema requires of the parts rulecheck writes."""
    assert log["$schema"] == SCHEMA and log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "rulecheck" and driver["version"] == __version__
    ids = [rule["id"] for rule in driver["rules"]]
    assert ids == sorted(set(ids))
    for rule in driver["rules"]:
        assert set(rule) >= {"id", "shortDescription", "helpUri", "defaultConfiguration"}
        assert rule["shortDescription"]["text"] and rule["defaultConfiguration"]["level"] in ("error", "warning")
    for result in run["results"]:
        assert result["level"] in ("error", "warning") and result["message"]["text"]
        assert ids[result["ruleIndex"]] == result["ruleId"]
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        region = physical.get("region")
        if region is not None:
            assert region["startLine"] >= 1 and region["startColumn"] >= 1
            assert (region["endLine"], region["endColumn"]) > (region["startLine"], region["startColumn"])


def test_findings_as_sarif(capsys):
    code, log, err = run(capsys, "R020-tier-gap.rules", "R027-zero-price.rules")
    assert code == 1
    assert err == "rulecheck: 2 book(s) checked, 1 error(s), 1 warning(s)\n"  # stdout holds only the log
    assert_sarif_shape(log)
    [run_] = log["runs"]
    assert run_["tool"]["driver"]["rules"] == [
        {"id": "R020", "name": "GapBetweenTiers", "shortDescription": {"text": "gap between tiers"},
         "helpUri": "docs/diagnostics.md#r020--gap-between-tiers", "defaultConfiguration": {"level": "error"}},
        {"id": "R027", "name": "ZeroPriceWarning", "shortDescription": {"text": "zero price (warning)"},
         "helpUri": "docs/diagnostics.md#r027--zero-price-warning", "defaultConfiguration": {"level": "warning"}},
    ]
    gap, zero = run_["results"]
    assert gap == {
        "ruleId": "R020", "ruleIndex": 0, "level": "error",
        "message": {"text": "requests of 128K to 256K tokens fall between tiers (help: start this tier at `128K < T`)"},
        "locations": [{"physicalLocation": {
            "artifactLocation": {"uri": "R020-tier-gap.rules", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 12, "startColumn": 7, "endLine": 12, "endColumn": 21}}}],
    }
    assert (zero["ruleId"], zero["level"]) == ("R027", "warning")


def covered(case: str, region: dict) -> str:
    line = (CASES / case).read_text().splitlines()[region["startLine"] - 1]
    return line[region["startColumn"] - 1:region["endColumn"] - 1]


def test_regions_cover_the_text_they_are_about(capsys):
    _, log, _ = run(capsys, "R020-tier-gap.rules", "R027-zero-price.rules")
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in log["runs"][0]["results"]]
    assert covered("R020-tier-gap.rules", regions[0]) == "256K < T <= 1M"
    assert covered("R027-zero-price.rules", regions[1]) == "0"


def test_exit_codes_are_those_of_the_other_formats(capsys):
    code, log, _ = run(capsys, str(rules_dir()))
    assert code == 0 and log["runs"][0]["results"] == [] and log["runs"][0]["tool"]["driver"]["rules"] == []
    assert run(capsys, "R027-zero-price.rules")[0] == 0
    assert run(capsys, "--strict", "R027-zero-price.rules")[0] == 1
    code, log, _ = run(capsys, "no-such.rules")
    assert code == 2
    [missing] = log["runs"][0]["results"]
    assert missing["ruleId"] == "R002"
    assert missing["locations"] == [{"physicalLocation": {
        "artifactLocation": {"uri": "no-such.rules", "uriBaseId": "%SRCROOT%"}}}]  # a file-wide finding: no region


def test_a_file_outside_the_working_directory_is_named_by_its_absolute_uri(capsys, tmp_path):
    (tmp_path / "work").mkdir()
    code, log, _ = run(capsys, str(CASES / "R020-tier-gap.rules"), cwd=tmp_path / "work")
    assert code == 1
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": (CASES / "R020-tier-gap.rules").as_uri()}


def test_every_case_gives_a_well_formed_log(capsys):
    code, log, _ = run(capsys, ".")
    assert code == 1
    assert_sarif_shape(log)
    results = log["runs"][0]["results"]
    codes = {r["ruleId"] for r in results}
    assert {name[:4] for name in os.listdir(CASES) if name.startswith("R0")} <= codes


def test_every_code_has_a_title_and_its_link_lands_on_its_heading():
    codes = {v for m in (check, examples, include, parse) for v in vars(m).values()
             if isinstance(v, str) and re.fullmatch(r"R0\d\d", v)} | {"R006"}
    assert codes == set(TITLES)
    headings = {heading_anchor(line.removeprefix("## ")): line
                for line in DOCS.read_text().splitlines() if line.startswith("## ")}
    for code, title in TITLES.items():
        assert f"## {code} — {title}" in headings.values(), code
        assert heading_anchor(f"{code} — {title}") in headings


@pytest.mark.parametrize(("heading", "anchor"), [
    ("R001 — syntax error", "r001--syntax-error"),
    ("R027 — zero price (warning)", "r027--zero-price-warning"),
    ("R023 — first tier does not start at 0", "r023--first-tier-does-not-start-at-0"),
    ("Limits (R037–R041)", "limits-r037r041"),
])
def test_heading_anchors_are_githubs(heading, anchor):
    assert heading_anchor(heading) == anchor


def test_the_documented_result_is_rulechecks(capsys):
    docs = (ROOT / "docs" / "editors.md").read_text()
    [block] = re.findall(r'```json\n(\{"ruleId": "R020".*?)```', docs, re.DOTALL)
    documented = json.loads(block)
    _, log, err = run(capsys, "R020-tier-gap.rules")
    assert log["runs"][0]["results"] == [documented]
    assert err == "rulecheck: 1 book(s) checked, 1 error(s), 0 warning(s)\n"
