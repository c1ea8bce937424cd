"""The import rule: gradcore <- jobs <- {api, worker, cli}. Each package imports only the ones
below it, so the API never loads the worker's code (or torch's training loop through it) and the
worker never loads the API's; the client library stands alone."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"gradcore", "jobs", "api", "worker", "cli", "gradflow_client"}
# What each package may import from the project (besides itself).
ALLOWED = {
    "gradcore": set(),
    "jobs": {"gradcore"},
    "api": {"gradcore", "jobs"},
    "worker": {"gradcore", "jobs"},
    "cli": {"gradcore", "jobs", "gradflow_client"},
    "gradflow_client": set(),
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """The project packages a module imports, with the line of each import."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {(name.split(".")[0], node.lineno) for name in names}
    return {(package, line) for package, line in found if package in PROJECT}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    broken = [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for imported, line in imported_packages(path)
        if imported != package and imported not in ALLOWED[package]
    ]
    assert not broken, "\n".join(broken)


def test_the_rule_sees_an_import_that_breaks_it(tmp_path: Path) -> None:
    module = tmp_path / "routes.py"
    module.write_text("import os\nfrom worker.tasks import run\n\ndef f():\n    import api.app\n")
    assert imported_packages(module) == {("worker", 2), ("api", 5)}
