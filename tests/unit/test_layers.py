"""The house's shape, held by tests: no import circles, ``web/`` and ``api/`` as siblings,
audit events written by use cases only, and no module past 500 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("archive_service", "search", "storage", "workers")
FACES = ("archive_service/web", "archive_service/api", "archive_service/cli")


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` of every import in the file, wherever it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names]


def _target(module: str, names: list[str]) -> set[str]:
    """The modules of this tree an import reaches (``from pkg import mod`` reaches mod)."""
    out = set()
    if module in MODULES:
        out.add(module)
    for name in names:
        if f"{module}.{name}" in MODULES:
            out.add(f"{module}.{name}")
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for imported, names in _imports(path):
            graph[module] |= _target(imported, names) - {module}
    # A package's face imports its own modules; that is not a circle of the house.
    for module in graph:
        graph[module] = {m for m in graph[module] if not module.startswith(m + ".")}
    return graph


def test_no_import_circles() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert circles == []


def test_web_and_api_are_siblings() -> None:
    for face, other in (("web", "api"), ("api", "web")):
        for module, path in MODULES.items():
            if module.startswith(f"archive_service.{face}"):
                for imported, _names in _imports(path):
                    assert not imported.startswith(f"archive_service.{other}"), (module, imported)


@pytest.mark.parametrize("face", FACES)
def test_faces_leave_audit_events_and_jobs_to_the_use_cases(face: str) -> None:
    """Views and commands call use cases; the use case writes its audit event and notes
    its jobs, so two faces cannot drift apart."""
    for path in (ROOT / face).rglob("*.py"):
        for imported, names in _imports(path):
            assert not (imported == "archive_service.audit.services" and "record" in names), path
            assert imported != "archive_service.jobs", path
        text = path.read_text(encoding="utf-8")
        assert "audit.record(" not in text and ".send(" not in text, path


def test_no_module_over_500_lines() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 500}
    benchmarks = {
        p.name: n
        for p in (ROOT / "benchmarks").glob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    }
    assert long == {} and benchmarks == {}
