"""The domain depends on nothing but the standard library and eventsourcing.domain."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[3] / "domain"
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"),
                   ("date", "today"), ("time", "time"), ("time", "monotonic")}
FORBIDDEN_MODULES = {"random", "secrets", "os", "io", "socket", "pathlib", "subprocess",
                     "zoneinfo", "time", "logging"}
FORBIDDEN_NAMES = {"uuid1", "uuid4", "open", "print", "input"}


def modules() -> list[Path]:
    return sorted(DOMAIN.glob("*.py"))


def imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library_and_eventsourcing_domain(path: Path) -> None:
    for name in imported(ast.parse(path.read_text())):
        top = name.split(".")[0]
        assert (top == "domain" or name == "eventsourcing.domain"
                or (top in sys.stdlib_module_names and top not in FORBIDDEN_MODULES)), name


@pytest.mark.parametrize("path", modules(), ids=lambda p: p.name)
def test_domain_reads_no_clock_and_invents_no_ids(path: Path) -> None:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            assert (node.value.id, node.attr) not in FORBIDDEN_CALLS, f"{path.name}: {node.attr}"
        if isinstance(node, ast.Name):
            assert node.id not in FORBIDDEN_NAMES, f"{path.name}: {node.id}"
