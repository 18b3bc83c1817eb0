"""The hooks of .pre-commit-hooks.yaml, run for real by pre-commit in a temporary git repository.

`pre-commit try-repo` installs this checkout (its HEAD plus its uncommitted changes to tracked
files) into a fresh virtual environment, as a user's `pre-commit install` would, and runs both
hooks over a repository holding a good book, a book with a gap between tiers and a book that is
not formatted. One run serves every test here: installing is most of its cost. pip builds the
checkout with the setuptools the new environment is seeded with (PIP_NO_BUILD_ISOLATION=0 turns
isolation off, pip reading the variable the other way round) instead of fetching a build
environment first; that cuts the run from about 30 s to 10 s and changes nothing the hooks do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

pytestmark = pytest.mark.xdist_group("precommit")  # one worker: its module fixtures start once

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "rules" / "emr-starrocks-ai-function.rules"
GAP_FROM, GAP_TO = "      256K < T <= 1M     input 0.001440", "      300K < T <= 1M     input 0.001440"
HOOKS = ("rulecheck", "ratecard-fmt")


@attrs.frozen
class HookRun:
    exit_code: int
    output: str

    def section(self, name: str) -> str:
        """What pre-commit printed for the hook named `name` (its status line up to the next hook's)."""
        match = re.search(rf"^{re.escape(name)}\.+(Passed|Failed)$(.*?)(?=^\S[^\n]*\.{{3,}}(Passed|Failed)$|\Z)",
                          self.output, re.MULTILINE | re.DOTALL)
        assert match, self.output
        return match.group(0)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture(scope="module")
def hook_run(tmp_path_factory) -> HookRun:
    if not (ROOT / ".git").exists():
        pytest.fail(f"try-repo needs {ROOT} to be a git checkout")
    repo = tmp_path_factory.mktemp("books")
    text = BOOK.read_text()
    assert GAP_FROM in text
    (repo / "good.rules").write_text(text)
    (repo / "gap.rules").write_text(text.replace(GAP_FROM, GAP_TO))
    (repo / "unformatted.rules").write_text(text.replace("  currency USD\n", "  currency    USD\n"))
    (repo / "notes.txt").write_text("not a book { ; \n")
    git(repo, "init", "-q")
    git(repo, "add", ".")  # --all-files runs on the files git tracks: staged is enough
    env = {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}
    env |= {"PRE_COMMIT_HOME": str(tmp_path_factory.mktemp("pre-commit-home")), "PIP_NO_BUILD_ISOLATION": "0",
            "PRE_COMMIT_COLOR": "never"}
    done = subprocess.run([sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), "--all-files"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)
    shutil.rmtree(env["PRE_COMMIT_HOME"], ignore_errors=True)
    return HookRun(done.returncode, done.stdout + done.stderr)


def test_both_hooks_ran_from_the_manifest(hook_run):
    assert "hook id: rulecheck" in hook_run.output and "hook id: ratecard-fmt" in hook_run.output
    assert hook_run.exit_code == 1


def test_rulecheck_fails_the_gap_with_its_code_and_passes_the_others(hook_run):
    section = hook_run.section("rulecheck")
    assert section.startswith("rulecheck" + "." * 10) and "Failed" in section.splitlines()[0]
    text = BOOK.read_text()
    line = text[:text.index(GAP_FROM)].count("\n") + 1
    assert f"gap.rules:{line}:7: error[R020]: requests of 256K to 300K tokens fall between tiers" in section
    assert "good.rules" not in section and "unformatted.rules" not in section and "notes.txt" not in section
    assert "rulecheck: 3 book(s) checked, 1 error(s), 0 warning(s)" in section


def test_fmt_check_names_only_the_unformatted_book(hook_run):
    section = hook_run.section("ratecard fmt")
    assert "Failed" in section.splitlines()[0]
    body = section.split("exit code: 1", 1)[1]
    assert body.split() == ["unformatted.rules"]
