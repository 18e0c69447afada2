"""The orchestration-cost part in the bench's report: its target rows and its section."""

from __future__ import annotations

import statistics
from pathlib import Path

from bench.orchestration import (
    INSTANCES,
    NEW_DAY_LOADED,
    TARGET_MAX_CHINOOK_S,
    TARGET_MAX_NEW_DAY_TIMES_IMPORT,
    TARGET_MAX_SPREAD_RATIO,
    Orchestration,
    Timing,
    _shown,
)
from bench.text import MET, MISSED
from bench.text import mb as _mb
from bench.text import number as _s
from bench.text import ratio as _ratio


# ---------------------------------------------------------------------------- targets
def _orch(report) -> Orchestration | None:
    o = getattr(report, "orchestration", None)
    return o if isinstance(o, Orchestration) else None


def target_rows(report) -> dict[str, list[tuple[str, str, str]]]:
    """Issue 13's rows of the Targets table, by where they go: ``star`` (after the seeds' ELT
    row), ``incremental`` (after the incremental row) and ``end``."""
    o = _orch(report)
    cfg = report.config

    # --through star vs the seeds' ELT
    star = report.approaches.get("duckdb-star")
    seed = report.approaches.get("seed-elt")
    label = "music_dwh on DuckDB `--through star` faster than the seeds' ELT on PostgreSQL"
    if star and star.ok and seed and seed.ok:
        a, b = star.median_wall, seed.median_wall
        star_row = (label, f"{a:,.1f} s vs {b:,.1f} s ({_ratio(b / a)})", MET if a < b else MISSED)
    else:
        star_row = (label, "–", "not measured (needs the duckdb-star and seed-elt approaches)")

    # one new day with 30 days loaded vs the import baseline
    info = report.incremental_info or {}
    per_day = info.get("events_per_day", cfg.incremental_events_per_day)
    label = (f"one new {per_day:,}-event day with {NEW_DAY_LOADED} days loaded ≤ "
             f"{TARGET_MAX_NEW_DAY_TIMES_IMPORT:.0f}× `{o.import_command if o else 'python -c …'}`")  # fmt: skip
    point = next((p for p in report.incremental if p.loaded_days == NEW_DAY_LOADED), None)
    base = o.import_baseline if o and o.import_baseline and o.import_baseline.ok else None
    if point and base:
        times = point.median / base.median_s
        new_day_row = (label, f"{_ratio(times)} ({point.median:.1f} s vs {base.median_s:.1f} s)",
                       MET if times <= TARGET_MAX_NEW_DAY_TIMES_IMPORT else MISSED)  # fmt: skip
    else:
        why = ("--skip-incremental" if cfg.skip_incremental
               else f"{NEW_DAY_LOADED} is not in --incremental-loaded" if not point
               else "the import baseline failed")  # fmt: skip
        new_day_row = (label, "–", f"not measured: {why}")

    # the same events over more days
    short, long_ = cfg.spread_days
    label = (f"the same {cfg.spread_events:,} events over {long_} vs {short} days: a whole `music-dwh load "
             f"sparkify` ≤ {TARGET_MAX_SPREAD_RATIO}×")  # fmt: skip
    if o and len(o.spread) == 2 and all(p.timing.ok for p in o.spread):
        a, b = o.spread[0].timing.median_s, o.spread[1].timing.median_s
        ratio = b / a
        spread_row = (
            label,
            f"{ratio:.2f}× ({b:.1f} s vs {a:.1f} s)",
            MET if ratio <= TARGET_MAX_SPREAD_RATIO else MISSED,
        )
    else:
        spread_row = (
            label,
            "–",
            (o.spread_status if o and o.spread_status else "not measured") if o else "not measured",
        )

    # the public Chinook history
    ch = o.chinook if o else None
    history = (
        f"public Chinook history ({ch.days:,} days)" if ch and ch.days else "public Chinook history"
    )
    chinook_rows = []
    for name, instance in INSTANCES.items():
        label = f"{history}: `music-dwh load chinook` ≤ {TARGET_MAX_CHINOOK_S:.0f} s, {instance}"
        timing = ch.instances.get(name) if ch else None
        if timing and timing.ok:
            s = timing.median_s
            chinook_rows.append(
                (label, f"{s:,.1f} s", MET if s <= TARGET_MAX_CHINOOK_S else MISSED)
            )
        else:
            why = (
                (ch.status or ch.instance_status.get(name) or "not measured")
                if ch
                else "not measured"
            )
            chinook_rows.append((label, "–", why))

    return {"star": [star_row], "incremental": [new_day_row, spread_row], "end": chinook_rows}


# ---------------------------------------------------------------------------- report section
def section(report) -> list[str]:
    """``## Orchestration cost``: the import baseline, the spread, the Chinook history."""
    o = _orch(report)
    if o is None:
        return []
    lines = ["## Orchestration cost (issue 13)", ""]

    base = o.import_baseline
    if base and base.ok:
        lines += [
            f"Import baseline: `{o.import_command}` (the interpreter of the bench), {len(base.walls)} time(s): "
            f"median **{base.median_s:.2f} s** (min–max {min(base.walls):.2f}–{max(base.walls):.2f} s), "
            f"CPU {statistics.median(base.cpus):.2f} s, peak {_mb(base.peak_rss)}: the least any process running "
            "Dagster and dbt pays before doing anything.",
            "",
        ]
        point = next((p for p in report.incremental if p.loaded_days == NEW_DAY_LOADED), None)
        if point:
            lines += [
                f"One new day with {point.loaded_days} days loaded (incremental section, day {point.day}): "
                f"median {point.median:.2f} s (first run {point.walls[0]:.2f} s) = "
                f"{_ratio(point.median / base.median_s)} the import baseline.",
                "",
            ]
    elif o.import_status:
        lines += [f"Import baseline: {o.import_status}.", ""]

    if o.spread:
        first = o.spread[0].timing.median_s
        lines += [
            "### The same events over more days",
            "",
            f"`--spread-events` {report.config.spread_events:,} generated (seed {report.config.seed}, "
            f"{report.config.songs:,} songs) once per number of days; each a whole `music-dwh load sparkify` "
            "(every day as one single-run backfill) with a new warehouse and DAGSTER_HOME every run.",
            "",
            "| days | events/day | events | raw JSON | wall s (median) | min–max s | CPU s | "
            "peak RSS | ratio to the first | checks |",
            "|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
        ]
        for p in o.spread:
            t = p.timing
            if not t.ok:
                lines.append(
                    f"| {p.days} | {p.events_per_day:,} | {p.events:,} | {_mb(p.raw_json_bytes)} | FAILED | | | | | |"
                )
                continue
            lines.append(
                f"| {p.days} | {p.events_per_day:,} | {p.events:,} | {_mb(p.raw_json_bytes)} | {t.median_s:.2f} | "
                f"{min(t.walls):.1f}–{max(t.walls):.1f} | {_s(statistics.median(t.cpus), 1)} | {_mb(t.peak_rss)} | "
                f"{t.median_s / first:.2f}× | {t.checks} |"
            )
        lines.append("")
        a, b = o.spread[0], o.spread[-1]
        if a.timing.ok and b.timing.ok and a.timing.profile and b.timing.profile:
            lines += _parts(f"{a.days} days", f"{b.days} days", a.timing, b.timing)
    elif o.spread_status:
        lines += [f"Same events over more days: {o.spread_status}.", ""]

    ch = o.chinook
    if ch:
        lines += ["### Public Chinook history", ""]
        if ch.status:
            lines += [f"{ch.status}.", ""]
        else:
            rows = ", ".join(f"{t} {n:,}" for t, n in ch.rows.items())
            lines += [
                f"`music-dwh export-chinook --sqlite {_shown(Path(ch.sqlite))}` (set-up, {_s(ch.export_s, 1)} s): "
                f"**{ch.days:,} daily partitions** ({ch.first_day} – {ch.last_day}; {ch.invoice_days:,} days with "
                f"invoices), {_mb(ch.raw_csv_bytes)} of CSV; "
                "then `music-dwh load chinook` (every day as one single-run backfill) with a new warehouse and "
                "DAGSTER_HOME every run (a PostgreSQL instance's database re-created too)"
                f"{'; ' + rows if rows else ''}.",
                "",
                "| Dagster instance | wall s (median) | min–max s | CPU s | peak RSS | PG server peak (PSS) | checks |",
                "|---|--:|--:|--:|--:|--:|---|",
            ]
            for name, label in INSTANCES.items():
                t = ch.instances.get(name)
                if t and t.ok:
                    lines.append(
                        f"| {label} | {t.median_s:.2f} | {min(t.walls):.1f}–{max(t.walls):.1f} | "
                        f"{_s(statistics.median(t.cpus), 1)} | {_mb(t.peak_rss)} | "
                        f"{_mb(t.server_peak_pss)} | {t.checks} |"
                    )
                else:
                    lines.append(
                        f"| {label} | {ch.instance_status.get(name, 'not measured')} | | | | | |"
                    )
            lines.append("")
            a, b = ch.instances.get("sqlite"), ch.instances.get("postgresql")
            if a and b and a.ok and b.ok and a.profile and b.profile:
                lines += _parts("SQLite instance", "PostgreSQL instance", a, b)

    if o.star_consistency:
        diffs = sum(o.star_consistency.values())
        lines += [
            ("`music-dwh load sparkify --through star` builds the same star schema as the one-shot script, row for row."
             if diffs == 0 else
             "`music-dwh load sparkify --through star` differs from the one-shot script's star schema (rows in one "
             "and not the other: " + ", ".join(f"{t}: {n:,}" for t, n in o.star_consistency.items() if n) + ")."),
            "",
        ]  # fmt: skip
    return lines


def _parts(name_a: str, name_b: str, a: Timing, b: Timing) -> list[str]:
    """The median runs of ``a`` and ``b``, part by part (from their Dagster event logs)."""
    pa, pb = a.profile, b.profile
    lines = [
        f"Per part, the median run ({name_a} vs {name_b}):",
        "",
        f"| part | {name_a}, s | {name_b}, s | difference s |",
        "|---|--:|--:|--:|",
    ]

    def row(title: str, x: float | None, y: float | None) -> None:
        diff = (y - x) if x is not None and y is not None else None
        lines.append(f"| {title} | {_s(x, 2)} | {_s(y, 2)} | {_s(diff, 2)} |")

    row("whole process (wall)", a.median_s, b.median_s)
    row("start-up before the run", pa.get("startup"), pb.get("startup"))
    row("run set-up", pa.get("run_setup"), pb.get("run_setup"))
    steps_a = {s["step"]: s for s in pa.get("steps", [])}
    steps_b = {s["step"]: s for s in pb.get("steps", [])}
    for step in [*steps_a, *(k for k in steps_b if k not in steps_a)]:
        x, y = steps_a.get(step), steps_b.get(step)
        row(f"step `{step}`", x and x["seconds"], y and y["seconds"])
        if (x and x.get("dbt_execution") is not None) or (y and y.get("dbt_execution") is not None):
            row(
                "  ↳ of which dbt executing models and tests",
                x and x.get("dbt_execution"),
                y and y.get("dbt_execution"),
            )
    row("shut-down after the run", pa.get("shutdown"), pb.get("shutdown"))
    return lines + [""]
