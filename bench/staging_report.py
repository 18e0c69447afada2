"""The staging-speed part of the bench's report (issue 15): its rows of the Targets table.

The staging step's time comes from the Dagster event log of the median ``duckdb`` run; the
floor (a ``count(*)`` scan) and the reader (DuckDB's own load of the files into a table,
nothing judged) are whole processes measured in the same run.
"""

from __future__ import annotations

from bench.text import MET, MISSED
from bench.text import number as _s
from bench.text import ratio as _ratio

TARGET_MIN_EVENTS_PER_S_AT_10X = 1_000_000
TARGET_MAX_STEP_TIMES_FLOOR_AT_10X = 3.0
TARGET_MAX_STEP_S_DEFAULT = 1.5
TARGET_MAX_THROUGH_STAGING_TIMES_FLOOR_AT_10X = 8.0


def _wall(report, name: str) -> float | None:
    result = report.approaches.get(name)
    return result.median_wall if result and result.ok else None


def staging_step_seconds(report, name: str = "duckdb") -> float | None:
    """The ``staging_events`` step of the approach's median run, from its event log."""
    result = report.approaches.get(name)
    if not result or not result.ok:
        return None
    runs = sorted((r for r in result.runs if r.ok), key=lambda r: r.wall_s)
    profile = runs[(len(runs) - 1) // 2].detail.get("profile") or {}
    step = next((s for s in profile.get("steps", []) if s["step"].endswith("staging_events")), None)
    return step["seconds"] if step else None


def target_rows(report, at_10x: bool) -> list[tuple[str, str, str]]:
    rows = []
    events = report.dataset.events if report.dataset else 0
    step = staging_step_seconds(report)
    floor, reader = _wall(report, "floor"), _wall(report, "reader")
    beside_reader = (
        f"; DuckDB's own unjudged load of the files (reader): {_s(reader, 2)} s, the step is "
        f"{_ratio(step / reader)} of it"
        if step and reader
        else ""
    )
    if at_10x:
        rate = events / step if step else None
        rows.append(
            (
                f"`staging_events` at 10× ≥ {TARGET_MIN_EVENTS_PER_S_AT_10X / 1e6:.0f}M events/s and "
                f"≤ {TARGET_MAX_STEP_TIMES_FLOOR_AT_10X:.0f}× the floor's scan",
                f"{rate:,.0f} events/s; {_s(step, 2)} s = {_ratio(step / floor)} the floor "
                f"({_s(floor, 2)} s){beside_reader}"
                if step and floor
                else "–",
                "not measured"
                if not (step and floor)
                else MET
                if rate >= TARGET_MIN_EVENTS_PER_S_AT_10X
                and step / floor <= TARGET_MAX_STEP_TIMES_FLOOR_AT_10X
                else MISSED,
            )
        )
        through = _wall(report, "duckdb-staging")
        rows.append(
            (
                f"`music-dwh load sparkify --through staging` at 10× ≤ "
                f"{TARGET_MAX_THROUGH_STAGING_TIMES_FLOOR_AT_10X:.0f}× the floor, checks included",
                f"{_s(through, 2)} s = {_ratio(through / floor)} the floor"
                if through and floor
                else "–",
                "not measured (needs the floor and duckdb-staging approaches)"
                if not (through and floor)
                else MET
                if through / floor <= TARGET_MAX_THROUGH_STAGING_TIMES_FLOOR_AT_10X
                else MISSED,
            )
        )
    else:
        rows.append(
            (
                f"default scale: the `staging_events` step ≤ {TARGET_MAX_STEP_S_DEFAULT} s",
                f"{_s(step, 2)} s ({events / step:,.0f} events/s){beside_reader}" if step else "–",
                "not measured"
                if not step
                else MET
                if step <= TARGET_MAX_STEP_S_DEFAULT
                else MISSED,
            )
        )
    return rows
