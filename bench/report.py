"""The benchmark's markdown report: machine, data, results, targets, profile, incremental
cost, storage and query latency, in a fixed layout so two runs can be compared line by line."""

from __future__ import annotations

from bench import orchestration_report, staging_report
from bench.model import (
    APPROACHES,
    SCALE_RUN_EVENTS,
    STAR_TABLES,
    TARGET_MAX_INCREMENTAL_RATIO,
    TARGET_MAX_PEAK_AT_10X,
    TARGET_MAX_STORAGE_SHARE,
    TARGET_MAX_TIMES_ONE_SHOT,
    TARGET_MAX_TIMES_ONE_SHOT_AT_10X,
    TARGET_SPEEDUP_OVER_ROW_BY_ROW,
    ApproachResult,
    Report,
)
from bench.text import MET, MISSED
from bench.text import mb as _mb
from bench.text import number as _s
from bench.text import pct as _pct
from bench.text import ratio as _ratio


def _ok(report: Report, name: str) -> ApproachResult | None:
    result = report.approaches.get(name)
    return result if result and result.ok and result.seconds_per_event else None


def _speedup(report: Report, name: str, over: str) -> float | None:
    a, b = _ok(report, name), _ok(report, over)
    return b.seconds_per_event / a.seconds_per_event if a and b else None


def _times(report: Report, name: str, of: str) -> float | None:
    a, b = _ok(report, name), _ok(report, of)
    return a.seconds_per_event / b.seconds_per_event if a and b else None


def _median_run(result: ApproachResult):
    ok = sorted((r for r in result.runs if r.ok), key=lambda r: r.wall_s)
    return ok[(len(ok) - 1) // 2] if ok else None


# ---------------------------------------------------------------------------- targets
def at_10x(report: Report) -> bool:
    """A 10× run (``--scale 10`` or ≈8M events): the stricter one-shot target applies."""
    ds = report.dataset
    return report.config.scale >= 10 or bool(ds and ds.events >= 0.99 * SCALE_RUN_EVENTS)


# The music_dwh approaches, as the report names their engine and scope.
ENGINE_LABELS = {
    "duckdb": "DuckDB",
    "duckdb-star": "DuckDB `--through star`",
    "duckdb-staging": "DuckDB `--through staging`",
    "postgres": "PostgreSQL",
}


def targets(report: Report) -> list[tuple[str, str, str]]:
    rows = []
    duck = _ok(report, "duckdb")
    issue13 = orchestration_report.target_rows(report)

    speedup = _speedup(report, "duckdb", "row-by-row")
    rows.append((
        f"music_dwh on DuckDB ≥ {TARGET_SPEEDUP_OVER_ROW_BY_ROW:.0f}× faster than the row-by-row ETL per event",
        f"{_ratio(speedup)}" if speedup else "–",
        "not measured" if speedup is None else MET if speedup >= TARGET_SPEEDUP_OVER_ROW_BY_ROW else MISSED,
    ))  # fmt: skip

    seed = _ok(report, "seed-elt")
    if duck and seed:
        faster = duck.median_wall < seed.median_wall
        speedup = _ratio(seed.median_wall / duck.median_wall)
        measured = f"{duck.median_wall:,.1f} s vs {seed.median_wall:,.1f} s ({speedup})"
        rows.append(
            (
                "music_dwh on DuckDB faster than the seeds' ELT on PostgreSQL",
                measured,
                MET if faster else MISSED,
            )
        )
    else:
        rows.append(
            ("music_dwh on DuckDB faster than the seeds' ELT on PostgreSQL", "–", "not measured")
        )
    rows += issue13["star"]

    times = _times(report, "duckdb", "oneshot")
    if at_10x(report):
        limit = TARGET_MAX_TIMES_ONE_SHOT_AT_10X
        label = (
            f"music_dwh on DuckDB within {limit:.0f}× of the one-shot DuckDB script at 10× scale"
        )
    else:
        limit = TARGET_MAX_TIMES_ONE_SHOT
        label = (f"music_dwh on DuckDB within {limit:.0f}× of the one-shot DuckDB script "
                 f"({TARGET_MAX_TIMES_ONE_SHOT_AT_10X:.0f}× at 10× scale)")  # fmt: skip
    rows.append((
        label,
        f"{_ratio(times)} the one-shot's time" if times else "–",
        "not measured" if times is None else MET if times <= limit else MISSED,
    ))  # fmt: skip

    inc = report.incremental
    if len(inc) >= 2:
        ratio = inc[-1].median / inc[0].median
        rows.append((
            f"incremental: one new day with {inc[-1].loaded_days} vs {inc[0].loaded_days} day(s) loaded ≤ "
            f"{TARGET_MAX_INCREMENTAL_RATIO}×",
            f"{ratio:.2f}× ({inc[-1].median:.1f} s vs {inc[0].median:.1f} s)",
            MET if ratio <= TARGET_MAX_INCREMENTAL_RATIO else MISSED,
        ))  # fmt: skip
    else:
        rows.append(
            (f"incremental 300-vs-1 ratio ≤ {TARGET_MAX_INCREMENTAL_RATIO}×", "–", "not measured")
        )
    rows += issue13["incremental"]

    st = report.storage.get("duckdb")
    raw = report.storage.get("raw_json_bytes")
    if st and raw:
        share = st["file_bytes"] / raw
        rows.append((
            f"DuckDB warehouse ≤ {TARGET_MAX_STORAGE_SHARE:.0%} of the raw JSON",
            f"{_pct(share)} ({_mb(st['file_bytes'])} of {_mb(raw)})",
            MET if share <= TARGET_MAX_STORAGE_SHARE else MISSED,
        ))  # fmt: skip
    else:
        rows.append(
            (
                f"DuckDB warehouse ≤ {TARGET_MAX_STORAGE_SHARE:.0%} of the raw JSON",
                "–",
                "not measured",
            )
        )

    label = f"music_dwh on DuckDB: peak memory at 10× scale (≈{SCALE_RUN_EVENTS / 1e6:.0f}M events) ≤ 2 GB"
    ds = report.dataset
    if duck and ds and ds.events >= 0.99 * SCALE_RUN_EVENTS:
        peak = duck.peak_rss
        rows.append(
            (
                label,
                f"{_mb(peak)} ({ds.events:,} events)",
                MET if peak <= TARGET_MAX_PEAK_AT_10X else MISSED,
            )
        )
    else:
        rows.append((
            label,
            "–",
            "not measured in this run (`music-dwh bench --scale 10 --approaches oneshot,duckdb --skip-incremental "
            "--skip-queries --skip-spread --skip-chinook --out bench/results-10x.md`)",
        ))  # fmt: skip
    rows += staging_report.target_rows(report, at_10x(report))
    rows += issue13["end"]
    return rows


# ---------------------------------------------------------------------------- sections
def _machine(report: Report) -> list[str]:
    m = report.machine
    versions = ", ".join(f"{k} {v}" for k, v in m.get("versions", {}).items())
    lines = [
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        f"| CPU | {m['cpu_model']}, {m['cpus_logical']} logical CPUs ({m.get('cpus_physical') or '?'} physical) |",
        f"| memory | {m['memory_bytes'] / 1024**3:.1f} GiB |",
        f"| system | {m['platform']}, Python {m['python']} |",
        f"| load average (1/5/15 min) | start {_load(m.get('load_start'))}; end {_load(m.get('load_end'))} |",
        f"| versions | {versions} |",
    ]
    if m.get("postgresql"):
        lines.append(
            f"| PostgreSQL | {m['postgresql']}, local server started by the harness (127.0.0.1, "
            "fsync=off, synchronous_commit=off, full_page_writes=off, other settings default) |"
        )
    return lines + [""]


def _load(values) -> str:
    return " / ".join(f"{v:.2f}" for v in values) if values else "–"


def _data(report: Report) -> list[str]:
    ds = report.dataset
    c = report.config
    return [
        "## Data",
        "",
        f"Generated with the project's generator (`generate_sparkify`, seed {c.seed}): **{ds.days} days × "
        f"{ds.events_per_day:,} events = {ds.events:,} events** ({ds.plays:,} plays, {ds.users:,} users), "
        f"**{ds.songs:,} songs**; raw JSON {_mb(ds.raw_json_bytes)} (logs {_mb(ds.log_bytes)}, song files "
        f"{_mb(ds.song_bytes)}), written in {ds.generate_s:.1f} s. Every approach reads these same files.",
        "",
    ]


def _results(report: Report) -> list[str]:
    c = report.config
    lines = [
        f"## Results (wall: median of {c.repeat} run(s), each a whole process)",
        "",
        "| approach | events | wall s (median) | min–max s | events/s | CPU s | peak RSS (process tree) "
        "| PG server peak (PSS) | songplays (matched) | time ÷ floor | time ÷ one-shot "
        "| speed-up over seeds' ELT | speed-up over row-by-row |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    notes = []
    for name, result in report.approaches.items():
        walls = result.walls
        if not result.ok:
            lines.append(f"| {APPROACHES[name]} | {result.events:,} | FAILED | | | | | | | | | | |")
            continue
        eps = 1 / result.seconds_per_event if result.seconds_per_event else None
        plays = result.rows.get("songplays")
        played = "–" if plays is None else f"{plays:,} ({result.matched_plays or 0:,})"
        marker = " ¹" if name == "row-by-row" else ""
        lines.append(
            f"| {APPROACHES[name]}{marker} | {result.events:,} | {_s(result.median_wall, 2)} | "
            f"{_s(min(walls), 1)}–{_s(max(walls), 1)} | {_s(eps, 0)} | {_s(result.median_cpu, 1)} | "
            f"{_mb(result.peak_rss)} | {_mb(result.server_peak)} | {played} | "
            f"{_ratio(_times(report, name, 'floor')) if name != 'floor' else '1×'} | "
            f"{_ratio(_times(report, name, 'oneshot')) if name != 'oneshot' else '1×'} | "
            f"{_ratio(_speedup(report, name, 'seed-elt')) if name != 'seed-elt' else '1×'} | "
            f"{_ratio(_speedup(report, name, 'row-by-row')) if name != 'row-by-row' else '1×'} |"
        )
        if name == "row-by-row" and result.note:
            notes.append(
                f"¹ Row-by-row ran on {result.note}; its events/s and ratios use that full-dataset time."
            )
        if name in ENGINE_LABELS:
            run = _median_run(result)
            engine = ENGINE_LABELS[name]
            if run and run.detail.get("checks"):
                notes.append(f"music_dwh on {engine}: {run.detail['checks']}.")
            peak_run = max(result.runs, key=lambda r: r.peak_rss)
            if peak_run.detail.get("peak_processes"):
                notes.append(f"music_dwh on {engine}, processes at the peak of memory: "
                             f"{peak_run.detail['peak_processes']}.")  # fmt: skip
    lines.append("")
    notes.append(
        'Ratios compare time per event (the same files, except row-by-row). "time ÷ X" above 1 means '
        'slower than X; "speed-up over X" above 1 means faster than X. The seeds\' ELT matches a play only '
        "on exact title, artist and duration and keeps only matched plays in songplays; music_dwh and the "
        "one-shot script keep every play and match normalized names."
    )
    if report.consistency:
        diffs = sum(report.consistency.values())
        if diffs == 0:
            notes.append("The one-shot script's star schema equals music_dwh's on DuckDB, row for row "
                         f"({', '.join(STAR_TABLES)}).")  # fmt: skip
        else:
            detail = ", ".join(f"{t}: {n:,}" for t, n in report.consistency.items() if n)
            notes.append(f"The one-shot script's star schema differs from music_dwh's on DuckDB (rows in one "
                         f"and not the other: {detail}).")  # fmt: skip
    return lines + [f"- {n}" for n in notes] + [""]


def _targets(report: Report) -> list[str]:
    lines = ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    for target, measured, verdict in targets(report):
        lines.append(f"| {target} | {measured} | {verdict} |")
    return lines + [""]


def _profile(report: Report) -> list[str]:
    profiles = {}
    for name, label in ENGINE_LABELS.items():
        result = report.approaches.get(name)
        run = _median_run(result) if result and result.ok else None
        if run and run.detail.get("profile"):
            profiles[label] = (run, run.detail["profile"])
    if not profiles:
        return []
    labels = list(profiles)
    lines = [
        "## Where music_dwh's time goes (the median run, from its Dagster event log)",
        "",
        "| part | " + " | ".join(f"{label} s" for label in labels) + " |",
        "|---|" + "--:|" * len(labels),
    ]

    def row(title: str, values: list[float | None]) -> None:
        lines.append(f"| {title} | " + " | ".join(_s(v, 2) for v in values) + " |")

    row("whole process (wall)", [profiles[lb][0].wall_s for lb in labels])
    row("start-up before the run (interpreter, imports, dbt manifest check, definitions)",
        [profiles[lb][1].get("startup") for lb in labels])  # fmt: skip
    row("run set-up", [profiles[lb][1].get("run_setup") for lb in labels])
    steps: list[str] = []
    for lb in labels:
        for s in profiles[lb][1].get("steps", []):
            if s["step"] not in steps:
                steps.append(s["step"])
    for step in steps:
        found = [
            next((s for s in profiles[lb][1].get("steps", []) if s["step"] == step), None)
            for lb in labels
        ]
        row(f"step `{step}`", [f["seconds"] if f else None for f in found])
        if any(f and "dbt_process" in f for f in found):
            row(
                "  ↳ before dbt starts (selection; the process's one in-process parse)",
                [f.get("before_dbt") if f else None for f in found],
            )
            row(
                "  ↳ dbt invocation (in-process: models and tests)",
                [f.get("dbt_process") if f else None for f in found],
            )
            row(
                "  ↳ of which dbt executing models and tests (run_results.json)",
                [f.get("dbt_execution") if f else None for f in found],
            )
            row(
                "  ↳ after dbt (table metadata queries)",
                [f.get("after_dbt") if f else None for f in found],
            )
    row("shut-down after the run", [profiles[lb][1].get("shutdown") for lb in labels])
    # Every raw event passes through the staging step: its throughput per engine (the write is
    # part of the step: a PostgreSQL COPY, a DuckDB insert).
    staging = [next((s for s in profiles[lb][1].get("steps", []) if s["step"].endswith("staging_events")), None)
               for lb in labels]  # fmt: skip
    if any(staging):
        lines.append(
            "| `staging_events` throughput (the dataset's events ÷ the step), events/s | "
            + " | ".join(
                f"{report.dataset.events / f['seconds']:,.0f}" if f and f["seconds"] else "–"
                for f in staging
            )
            + " |"
        )
    totals = []
    for lb in labels:
        dbt_steps = [s for s in profiles[lb][1].get("steps", []) if "dbt_process" in s]
        overhead = sum(
            s["before_dbt"] + s["after_dbt"] + s["dbt_process"] - (s.get("dbt_execution") or 0)
            for s in dbt_steps
        )
        totals.append(overhead)
    row("**dbt steps: time not spent executing models and tests**", totals)
    return lines + [""]


def _incremental(report: Report) -> list[str]:
    if not report.incremental:
        return []
    info = report.incremental_info
    first = report.incremental[0].median
    lines = [
        "## Incremental cost of one new day (music_dwh on DuckDB)",
        "",
        f"A separate dataset: **{info['days']} days × {info['events_per_day']:,} events = {info['events']:,} "
        f"events, {info['songs']:,} songs** (raw JSON {_mb(info['raw_json_bytes'])}). Each point: the "
        "warehouse holds the first N days (loaded by an untimed set-up backfill), then `music-dwh load "
        f"sparkify --start D --end D` loads day N+1, {info['repeat']} time(s) (the first run adds the day, "
        "the others replace it), one Dagster instance throughout.",
        "",
        "| days already loaded | day loaded | wall s (median) | first run (new day) s | min–max s "
        "| peak RSS | ratio to the first point | set-up backfill s |",
        "|--:|---|--:|--:|--:|--:|--:|--:|",
    ]
    for p in report.incremental:
        lines.append(
            f"| {p.loaded_days} | {p.day} | {p.median:.2f} | {p.walls[0]:.2f} | {min(p.walls):.1f}–{max(p.walls):.1f} "
            f"| {_mb(p.peak_rss)} | {p.median / first:.2f}× | {_s(p.setup_s, 1)} |"
        )
    lines.append("")
    # Which parts grow with the history: the first (new-day) run of the first and last points.
    a, b = report.incremental[0], report.incremental[-1]
    if a.profile and b.profile and a is not b:
        lines += [
            f"Per part, the new-day run with {a.loaded_days} vs {b.loaded_days} day(s) loaded:",
            "",
            f"| part | {a.loaded_days} loaded, s | {b.loaded_days} loaded, s | difference s |",
            "|---|--:|--:|--:|",
        ]

        def part_row(title: str, x: float | None, y: float | None) -> None:
            diff = (y - x) if x is not None and y is not None else None
            lines.append(f"| {title} | {_s(x, 2)} | {_s(y, 2)} | {_s(diff, 2)} |")

        part_row("whole process (wall)", a.walls[0], b.walls[0])
        part_row("start-up before the run", a.profile.get("startup"), b.profile.get("startup"))
        part_row("run set-up", a.profile.get("run_setup"), b.profile.get("run_setup"))
        steps_a = {s["step"]: s for s in a.profile.get("steps", [])}
        steps_b = {s["step"]: s for s in b.profile.get("steps", [])}
        for step in [*steps_a, *(k for k in steps_b if k not in steps_a)]:
            x, y = steps_a.get(step), steps_b.get(step)
            part_row(f"step `{step}`", x and x["seconds"], y and y["seconds"])
            if (x and x.get("dbt_execution") is not None) or (
                y and y.get("dbt_execution") is not None
            ):
                part_row("  ↳ of which dbt executing models and tests", x and x.get("dbt_execution"),
                         y and y.get("dbt_execution"))  # fmt: skip
        part_row("shut-down after the run", a.profile.get("shutdown"), b.profile.get("shutdown"))
        lines.append("")
    return lines


def _storage(report: Report) -> list[str]:
    st = report.storage
    raw = st.get("raw_json_bytes")
    engines = [(k, label) for k, label in (("duckdb", "music_dwh DuckDB"), ("postgres", "music_dwh PostgreSQL"),
                                            ("seed-elt", "seeds' ELT PostgreSQL"), ("oneshot", "one-shot DuckDB"))
               if k in st]  # fmt: skip
    if not engines or not raw:
        return []
    by_name: dict[str, dict[str, dict]] = {}
    for key, _ in engines:
        for full, info in st[key]["tables"].items():
            by_name.setdefault(full.split(".", 1)[1], {})[key] = info
    lines = [
        "## Storage",
        "",
        f"Raw JSON: {_mb(raw)} ({raw:,} bytes: logs {_mb(st['log_bytes'])}, song files {_mb(st['song_bytes'])}). "
        "DuckDB: bytes per table estimated from `pragma_storage_info` (each segment's extent in its "
        "256 KiB block), the total is the file after `CHECKPOINT`. PostgreSQL: `pg_total_relation_size` "
        "(table, TOAST and indexes), the total is `pg_database_size` (includes ≈7.5 MB of system catalogs).",
        "",
        "| table | rows | " + " | ".join(label for _, label in engines) + " |",
        "|---|--:|" + "--:|" * len(engines),
    ]
    order = [
        t for t in (*STAR_TABLES, "staging_events", "staging_songs", "quarantine") if t in by_name
    ]
    order += sorted(t for t in by_name if t not in order)
    for table in order:
        infos = by_name[table]
        rows = next((infos[k]["rows"] for k, _ in engines if k in infos), None)
        cells = [_mb(infos[k]["bytes"]) if k in infos else "" for k, _ in engines]
        lines.append(f"| {table} | {rows:,} | " + " | ".join(cells) + " |")
    totals = []
    shares = []
    for key, _ in engines:
        total = st[key].get("file_bytes") or st[key].get("database_bytes")
        totals.append(f"**{_mb(total)}**")
        shares.append(f"**{_pct(total / raw)}**")
    lines.append("| **total on disk** | | " + " | ".join(totals) + " |")
    lines.append("| **share of the raw JSON** | | " + " | ".join(shares) + " |")
    return lines + [""]


def _queries(report: Report) -> list[str]:
    if not report.queries:
        return []
    engines = list(report.queries)
    names = list(next(iter(report.queries.values())))
    label = {"duckdb": "DuckDB", "postgres": "PostgreSQL"}
    lines = [
        "## Query latency (the seeds' analytic questions on music_dwh's star schema; warm, median of 5)",
        "",
        "Queries: `bench/queries/*.sql`.",
        "",
        "| query | rows | " + " | ".join(f"{label[e]} ms" for e in engines) + " |",
        "|---|--:|" + "--:|" * len(engines),
    ]
    for name in names:
        rows = report.queries[engines[0]][name]["rows"]
        cells = [_s(report.queries[e][name]["median_s"] * 1000, 1) for e in engines]
        lines.append(f"| `{name}` | {rows:,} | " + " | ".join(cells) + " |")
    return lines + [""]


def _method(report: Report) -> list[str]:
    c = report.config
    return [
        "## How it was measured",
        "",
        f"- Command: `{c.command}`. Each approach runs as its own process, {c.repeat} time(s) in a row; "
        "wall time is from process start to exit (interpreter start-up and imports included).",
        "- Peak memory: the largest sum of RSS over the process and all its descendants (dbt "
        "subprocesses included), sampled at 20 Hz, and never below the largest per-process "
        "high-water mark (VmHWM). CPU s: user + system time of the process tree (getrusage). The "
        "PostgreSQL server is not a child of the measured process: its peak is reported apart as "
        "the sum of PSS over the postmaster and its backends.",
        f"- The sampler runs in the harness beside the measured process; it used at most "
        f"{_monitor_share(report):.1%} of one CPU during a run.",
        "- music_dwh: `music-dwh load sparkify` (every Sparkify asset and check except wall-clock "
        "freshness, the HTML report included) as one single-run backfill, with a new DAGSTER_HOME and "
        "an empty warehouse (DuckDB file deleted / PostgreSQL database re-created) every run; "
        "`music-dwh prepare` runs once before an approach's runs, untimed, as `make` does at install.",
        "- Seeds' ELT: `bench/seed_elt/*.sql`; row-by-row ETL: `bench/row_by_row.py` "
        "with `row_by_row/*.sql`; floor: `floor.sql`; one-shot: `one_shot.sql`.",
        "- No timing is asserted by the tests; compare reports of the same machine and scale.",
        "",
    ]


def _monitor_share(report: Report) -> float:
    shares = [
        r.detail["monitor_cpu_s"] / r.detail["wall_s"]
        for result in report.approaches.values()
        for r in result.runs
        if r.detail.get("wall_s")
    ]
    return max(shares, default=0.0)


def render(report: Report) -> str:
    c = report.config
    ds = report.dataset
    head = [
        "# music_dwh benchmark",
        "",
        f"Run {report.started} → {report.finished}. Scale {c.scale:g} "
        f"({ds.days if ds else c.days} days × {c.events_per_day:,} events/day). Regenerate with `{c.command}`.",
        "",
    ]
    body = []
    if ds:
        body = (
            _data(report)
            + _results(report)
            + _targets(report)
            + _profile(report)
            + _incremental(report)
        )
        body += orchestration_report.section(report) + _storage(report) + _queries(report)
    if report.failures:
        body += (
            ["## Failures", ""]
            + [f"- {f.splitlines()[0] if f else f}" for f in report.failures]
            + [""]
        )
    return "\n".join(head + _machine(report) + body + _method(report))
