"""The benchmark's report: it reads results, never runs anything, and the bench's modules import
one way (the report's numbers and layout are checked by ``test_harness.py``'s smoke run)."""

from __future__ import annotations

import ast

from bench import common


def _bench_imports() -> dict[str, set[str]]:
    """Module → the bench modules it imports, at the top or inside a function."""
    graph = {}
    for path in sorted(common.PACKAGE_DIR.glob("*.py")):
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "bench":
                parts = node.module.split(".")
                deps |= {a.name for a in node.names} if len(parts) == 1 else {parts[1]}
        graph[path.stem] = deps - {path.stem}
    return graph


def test_the_report_does_not_import_what_runs_the_bench():
    assert _bench_imports()["report"].isdisjoint({"harness", "runner", "options"})


def test_bench_modules_import_without_cycles():
    graph = _bench_imports()

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for dep in graph.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    assert [name for name in graph if name in reachable(name)] == []
