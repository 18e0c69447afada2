"""Markdown tables for Dagster metadata and the reports: one place, below every layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

CELL_CHARS = 60  # a cell longer than this is cut: metadata tables stay readable in the UI


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def text(value: Any) -> str:
        shown = "" if value is None else str(value)
        return shown.replace("|", "\\|").replace("\n", " ")[:CELL_CHARS]

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(text(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
