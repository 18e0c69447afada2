"""How the bench's report writes numbers and verdicts (shared by ``report.py`` and the
orchestration-cost section)."""

from __future__ import annotations

MET = "met"
MISSED = "**NOT MET**"


def number(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{x:,.{digits}f}"


def ratio(x: float | None) -> str:
    if x is None:
        return "–"
    if x < 0.1:
        return f"{x:.2g}×"
    return f"{x:,.0f}×" if x >= 100 else f"{x:,.1f}×" if x >= 10 else f"{x:.2f}×"


def pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def mb(n: int | None) -> str:
    if n is None:
        return "–"
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GB"
    return f"{n / 1024**2:,.0f} MB" if n >= 10 * 1024**2 else f"{n / 1024**2:.1f} MB"
