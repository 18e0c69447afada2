"""The package's import graph: no cycles, and layers only point down.

The graph is read from the source with ``ast`` (every ``import`` and ``from … import``,
function-level ones included: a lazy import still couples two modules), so nothing is
imported to build it. Layers, top to bottom::

    cli.main (the parser) → cli (the commands, by topic)
        → cli's run machinery (supervisor, worker, run, progress; common) → definitions
        → assets / checks / automation → staging, datagen, reports
        → resources, tags, partitions, instance (the Dagster instance's plug-ins)
        → sources, settings, instance.liveness (which process executes a run)

A module may import its own layer or any layer below it, never one above; the data generators
depend on the sources' contracts, and nothing that runs in production depends on them. The
benchmark is not in the package: it is bench/, which imports the package, never the reverse
(the CLI's bench commands import it by name when run).
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "music_dwh"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Lower number = lower layer. A module's layer is that of its longest listed prefix.
LAYERS: dict[str, int] = {
    "music_dwh.sources": 0,
    "music_dwh.settings": 0,
    "music_dwh.framework": 0,
    "music_dwh.markdown": 0,
    "music_dwh.instance.liveness": 0,
    "music_dwh.resources": 1,
    "music_dwh.partitions": 1,
    "music_dwh.tags": 1,
    "music_dwh.dbt_project": 1,
    "music_dwh.instance": 1,
    "music_dwh.staging": 2,
    "music_dwh.datagen": 2,
    "music_dwh.reports": 2,
    "music_dwh.backup": 2,
    "music_dwh.assets": 3,
    "music_dwh.checks": 3,
    "music_dwh.automation": 3,
    "music_dwh.definitions": 4,
    "music_dwh.cli.common": 5,
    "music_dwh.cli.progress": 5,
    "music_dwh.cli.run": 5,
    "music_dwh.cli.worker": 5,
    "music_dwh.cli.supervisor": 5,
    "music_dwh.cli": 6,
    "music_dwh.cli.main": 7,
    "music_dwh.cli.__main__": 7,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in ROOT.rglob("*.py")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``name`` imports (``from pkg import mod`` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in known]
            targets = targets or [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    mods = modules()
    known = set(mods)
    return {name: imports_of(name, path, known) for name, path in mods.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer(name: str) -> int | None:
    matches = [p for p in LAYERS if name == p or name.startswith(p + ".")]
    return LAYERS[max(matches, key=len)] if matches else None


def test_the_graph_sees_function_level_imports():
    edges = graph()
    # resources/warehouse.py opens each engine's session inside a method.
    assert "music_dwh.resources.duckdb" in edges["music_dwh.resources.warehouse"]
    assert "music_dwh.sources.chinook" in edges["music_dwh.staging.chinook"]


def test_no_import_cycles():
    found = cycles(graph())
    assert not found, "import cycles: " + "; ".join(" ⇄ ".join(c) for c in found)


def test_layers_only_point_down():
    upward = []
    for name, targets in graph().items():
        mine = layer(name)
        if mine is None:
            continue
        for target in targets:
            theirs = layer(target)
            if theirs is not None and theirs > mine:
                upward.append(f"{name} → {target}")
    assert upward == []


def test_every_module_has_a_layer():
    assert sorted(m for m in modules() if m != PACKAGE and layer(m) is None) == []


def test_only_the_commands_use_the_data_generators():
    users = {
        name
        for name, targets in graph().items()
        if not name.startswith("music_dwh.datagen")
        and any(t.startswith("music_dwh.datagen") for t in targets)
    }
    assert {u for u in users if not u.startswith("music_dwh.cli")} == set()


def test_the_package_never_imports_the_bench():
    found = [
        f"{name}: {target}"
        for name, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        for target in (
            [a.name for a in node.names] if isinstance(node, ast.Import)
            else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
            else []
        )
        if target.split(".")[0] == "bench"
    ]  # fmt: skip
    assert found == []


def test_sources_import_nothing_of_the_package():
    edges = graph()
    outside = {
        t
        for n, ts in edges.items()
        if n.startswith("music_dwh.sources")
        for t in ts
        if not t.startswith("music_dwh.sources")
    }
    assert outside == set()
