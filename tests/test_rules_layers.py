"""Dependencies between the front end's stages point one way: a module imports only earlier stages.

Data modules (source.py, ast.py, units.py) import no stage at all; the pre-compile checker imports nothing
that needs a compiled book (quoting, tables, the loader); worked examples run after compiling.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ENGINE = Path(__file__).resolve().parents[1] / "engine"

# Each module of the rules front end, and the package modules it may import.
ALLOWED = {
    "source.py": set(),
    "ast.py": {"source"},
    "lexer.py": set(),
    "units.py": set(),
    "build.py": {"ast", "source"},
    "cachedir.py": set(),
    "parse.py": {"ast", "build", "cachedir", "errors", "lexer", "resources", "source"},
    "include.py": {"ast", "errors", "parse", "resources", "source"},
    "check.py": {"ast", "errors", "include", "limits", "moments", "places", "source", "units"},
    "compile.py": {"ast", "include", "moments", "places", "tables", "units"},
    "examples.py": {"ast", "errors", "include", "money", "source", "tables"},
}


def package_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("module", sorted(ALLOWED))
def test_a_stage_imports_only_earlier_stages(module):
    assert package_imports(ENGINE / module) <= ALLOWED[module]


def test_worked_examples_are_not_run_by_the_checker():
    import ratecard.check
    assert not hasattr(ratecard.check, "check_examples")
