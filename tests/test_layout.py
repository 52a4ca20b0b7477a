"""The one-way rule of DESIGN.md, checked on every import at any depth (inside functions too).

listening_post -> queue_ui -> listener -> {connectors, triage}; connectors and triage never
import each other, listener or queue_ui. The connectors' own tests need nothing from listener.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"listening_post", "queue_ui", "listener", "connectors", "triage"}
ALLOWED = {
    "listening_post": OURS,
    "queue_ui": {"queue_ui", "listener", "connectors", "triage"},
    "listener": {"listener", "connectors", "triage"},
    "connectors": {"connectors"},
    "triage": {"triage"},
}


def imported_packages(path: Path) -> set[tuple[int, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found.update((node.lineno, name.split(".")[0]) for name in names if name.split(".")[0] in OURS)
    return found


def violations(folder: Path, allowed: set[str]) -> list[str]:
    return [
        f"{path.relative_to(folder.parent)}:{line} imports {package}"
        for path in sorted(folder.rglob("*.py"))
        for line, package in sorted(imported_packages(path))
        if package not in allowed
    ]


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_point_one_way(package):
    folder = ROOT / package
    assert list(folder.rglob("*.py")), f"no modules found under {package}/"
    assert violations(folder, ALLOWED[package]) == []


def test_connector_tests_need_nothing_from_listener():
    assert violations(ROOT / "tests" / "connectors", {"connectors", "triage"}) == []


def test_the_walk_sees_an_import_inside_a_function(tmp_path):
    module = tmp_path / "late.py"
    module.write_text("def start():\n    from queue_ui.app import create_app\n    return create_app\n")
    assert violations(tmp_path, ALLOWED["listener"]) == [f"{tmp_path.name}/late.py:2 imports queue_ui"]
