"""``music-dwh bench``: measure music_dwh against its baselines on the same generated files.

One command generates Sparkify data with the project's generator (default 30 days × 27,000
events per day ≈ 810,000 events, 7,100 songs; ``--scale`` multiplies the events per day), then
measures, each as a whole process (median of ``--repeat`` runs):

=============  ==============================================================================
``floor``      DuckDB ``count(*)`` over ``read_json_auto`` of the log files (floor.sql)
``oneshot``    one hand-written DuckDB script building the star schema (one_shot.sql)
``duckdb``     music_dwh: ``music-dwh load sparkify`` (staging, star, marts, checks, report) as
               one single-run backfill, fresh DAGSTER_HOME and warehouse file every run
``duckdb-star`` the same up to the star schema only (``music-dwh load sparkify --through star``)
``postgres``   the same on PostgreSQL (a local server the harness starts and stops)
``seed-elt``   baseline: the seeds' Redshift ELT (COPY + INSERT … SELECT) on PostgreSQL
``row-by-row`` baseline: pandas + iterrows + one ``cursor.execute`` per row, on the first
               ``--row-by-row-days`` days, reported per event
=============  ==============================================================================

plus the incremental cost of one new day with 1, 30 and 300 days loaded, storage per table,
query latency of the seeds' analytic questions, the orchestration costs of issue 13 (an import
baseline, the same events over 30 vs 300 days, the public Chinook history on the SQLite and a
PostgreSQL-backed Dagster instance: ``orchestration.py``), and a markdown report
(``bench/results.md``, also printed) with the machine, the versions and the targets met or
missed. Heavy imports (Dagster, DuckDB, psycopg2) happen inside functions: building the CLI
parser stays cheap.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from music_dwh.bench.common import PACKAGE_DIR, read_result
from music_dwh.settings import REPO_ROOT

DEFAULT_DAYS = 30
DEFAULT_EVENTS_PER_DAY = 27_000
DEFAULT_SONGS = 7_100
DEFAULT_START = dt.date(2018, 11, 1)
DEFAULT_OUT = REPO_ROOT / "bench" / "results.md"
DEFAULT_INCREMENTAL_LOADED = (1, 30, 300)
DEFAULT_INCREMENTAL_EVENTS_PER_DAY = 2_000
QUERY_RUNS = 5
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")

# Targets (never weakened; see the README's benchmark section).
TARGET_SPEEDUP_OVER_ROW_BY_ROW = 50.0
TARGET_MAX_TIMES_ONE_SHOT = 3.0  # at default scale
TARGET_MAX_TIMES_ONE_SHOT_AT_10X = 2.0  # at --scale 10 and above (≈8M events)
TARGET_MAX_INCREMENTAL_RATIO = 1.5
TARGET_MAX_STORAGE_SHARE = 0.25
TARGET_MAX_PEAK_AT_10X = 2 * 1024**3
SCALE_RUN_EVENTS = 10 * DEFAULT_DAYS * DEFAULT_EVENTS_PER_DAY

APPROACHES: dict[str, str] = {
    "floor": "Floor: DuckDB `count(*)` over the raw log files",
    "oneshot": "One-shot DuckDB script (`one_shot.sql`)",
    "duckdb": "**music_dwh on DuckDB** (`music-dwh load sparkify`)",
    "duckdb-star": "music_dwh on DuckDB up to the star schema (`music-dwh load sparkify --through star`)",
    "postgres": "**music_dwh on PostgreSQL** (`music-dwh load sparkify`)",
    "seed-elt": "Baseline: seeds' ELT on PostgreSQL (COPY + INSERT … SELECT)",
    "row-by-row": "Baseline: row-by-row ETL on PostgreSQL (pandas, iterrows, execute per row)",
}
POSTGRES_APPROACHES = ("postgres", "seed-elt", "row-by-row")


class BenchError(RuntimeError):
    """The benchmark cannot run as asked (printed without a traceback)."""


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------- configuration
@dataclass
class BenchConfig:
    days: int
    events_per_day: int
    songs: int
    seed: int
    scale: float
    approaches: list[str]
    repeat: int
    out: Path
    skip_incremental: bool
    skip_queries: bool
    row_by_row_days: int
    incremental_loaded: list[int]
    incremental_events_per_day: int
    workdir: Path | None
    keep: bool
    command: str = ""
    # the orchestration-cost part (orchestration.py); defaults are its options'
    spread_events: int = 0
    spread_days: tuple[int, int] = (0, 0)
    skip_spread: bool = False
    chinook_sqlite: Path | None = None
    skip_chinook: bool = False

    @property
    def start(self) -> dt.date:
        return DEFAULT_START


def _approach_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(APPROACHES)
    unknown = [n for n in names if n not in APPROACHES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown approach(es) {', '.join(unknown) or '(none)'}; choose from all, {', '.join(APPROACHES)}"
        )
    return [n for n in APPROACHES if n in names]  # always in the harness's order


def _loaded_list(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give whole numbers of days, e.g. 1,30,300") from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: every number of loaded days must be at least 1")
    return values


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``music-dwh bench`` options."""
    parser.add_argument("--scale", type=_positive_float, default=1.0,
                        help=f"multiplies the events per day (1.0 = {DEFAULT_DAYS} days × "
                             f"{DEFAULT_EVENTS_PER_DAY:,} events; 10 ≈ 8M events)")  # fmt: skip
    parser.add_argument("--days", type=_positive_int, default=DEFAULT_DAYS, help="days of logs")
    parser.add_argument("--events-per-day", type=_positive_int, help="overrides --scale")
    parser.add_argument("--songs", type=_positive_int, default=DEFAULT_SONGS, help="catalogue size")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--approaches", type=_approach_list, default=list(APPROACHES),
                        help=f"comma-separated: {','.join(APPROACHES)} (default all)")  # fmt: skip
    parser.add_argument("--repeat", type=_positive_int, default=3, help="runs per approach (median)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="markdown report (default bench/results.md; a .json beside it)")  # fmt: skip
    parser.add_argument("--skip-incremental", action="store_true", help="no incremental-cost runs")
    parser.add_argument("--skip-queries", action="store_true", help="no query-latency runs")
    parser.add_argument("--row-by-row-days", type=_positive_int, default=2,
                        help="days the row-by-row baseline processes (default 2)")  # fmt: skip
    parser.add_argument("--incremental-loaded", type=_loaded_list, default=list(DEFAULT_INCREMENTAL_LOADED),
                        help="days already loaded before each timed one-day load (default 1,30,300)")  # fmt: skip
    parser.add_argument("--incremental-events-per-day", type=_positive_int,
                        default=DEFAULT_INCREMENTAL_EVENTS_PER_DAY,
                        help=f"events per day of the incremental dataset (default {DEFAULT_INCREMENTAL_EVENTS_PER_DAY:,})")  # fmt: skip
    parser.add_argument("--workdir", type=Path,
                        help="where data, warehouses and logs go (default: a new temporary folder)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")
    from music_dwh.bench import orchestration

    orchestration.add_arguments(parser)


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    events_per_day = args.events_per_day or max(1, round(DEFAULT_EVENTS_PER_DAY * args.scale))
    return BenchConfig(
        days=args.days,
        events_per_day=events_per_day,
        songs=args.songs,
        seed=args.seed,
        scale=args.scale,
        approaches=args.approaches,
        repeat=args.repeat,
        out=args.out,
        skip_incremental=args.skip_incremental,
        skip_queries=args.skip_queries,
        row_by_row_days=min(args.row_by_row_days, args.days),
        incremental_loaded=args.incremental_loaded,
        incremental_events_per_day=args.incremental_events_per_day,
        workdir=args.workdir,
        keep=args.keep,
        command=" ".join(["music-dwh bench", *sys.argv[2:]]),
        spread_events=args.spread_events,
        spread_days=args.spread_days,
        skip_spread=args.skip_spread,
        chinook_sqlite=args.chinook_sqlite,
        skip_chinook=args.skip_chinook,
    )


# ---------------------------------------------------------------------------- results
@dataclass
class Run:
    wall_s: float
    cpu_s: float
    peak_rss: int
    server_peak_pss: int | None
    ok: bool
    detail: dict = field(default_factory=dict)
    error: str = ""


@dataclass
class ApproachResult:
    name: str
    events: int  # events this approach processed per run
    runs: list[Run] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    matched_plays: int | None = None
    seconds_per_event: float | None = None  # effective (row-by-row: scaled to the full dataset)
    note: str = ""
    profile: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.ok for r in self.runs)

    @property
    def walls(self) -> list[float]:
        return [r.wall_s for r in self.runs if r.ok]

    @property
    def median_wall(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None

    @property
    def median_cpu(self) -> float | None:
        cpus = [r.cpu_s for r in self.runs if r.ok]
        return statistics.median(cpus) if cpus else None

    @property
    def peak_rss(self) -> int | None:
        return max((r.peak_rss for r in self.runs), default=None)

    @property
    def server_peak(self) -> int | None:
        peaks = [r.server_peak_pss for r in self.runs if r.server_peak_pss is not None]
        return max(peaks) if peaks else None


@dataclass
class Dataset:
    raw: Path
    days: int
    events_per_day: int
    events: int
    plays: int
    songs: int
    users: int
    log_bytes: int
    song_bytes: int
    generate_s: float
    first_day: dt.date
    last_day: dt.date

    @property
    def raw_json_bytes(self) -> int:
        return self.log_bytes + self.song_bytes


@dataclass
class IncrementalPoint:
    loaded_days: int
    day: str
    walls: list[float]
    peak_rss: int
    setup_s: float | None  # the untimed backfill that brought the warehouse to loaded_days
    profile: dict = field(default_factory=dict)  # the first (new-day) run's, see pipeline_profile

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


@dataclass
class Report:
    config: BenchConfig
    machine: dict
    dataset: Dataset | None = None
    approaches: dict[str, ApproachResult] = field(default_factory=dict)
    incremental: list[IncrementalPoint] = field(default_factory=list)
    incremental_info: dict = field(default_factory=dict)
    storage: dict = field(default_factory=dict)
    queries: dict[str, dict[str, dict]] = field(default_factory=dict)
    consistency: dict = field(default_factory=dict)
    orchestration: object | None = None  # orchestration.Orchestration
    notes: list[str] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    failures: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- machine
def machine_info() -> dict:
    import importlib.metadata as md

    import psutil

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = {}
    for dist in ("dagster", "dagster-dbt", "dagster-postgres", "dbt-core", "dbt-duckdb", "dbt-postgres", "duckdb",
                 "great_expectations", "pandas", "pyarrow", "psycopg2-binary", "orjson", "ftfy", "psutil"):  # fmt: skip
        try:
            versions[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return {
        "cpus_logical": os.cpu_count(),
        "cpus_physical": psutil.cpu_count(logical=False),
        "cpu_model": model or platform.processor() or "unknown",
        "memory_bytes": psutil.virtual_memory().total,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_start": os.getloadavg(),
        "versions": versions,
    }


# ---------------------------------------------------------------------------- data
def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.json")) if root.exists() else 0


def generate(raw: Path, days: int, events_per_day: int, songs: int, seed: int) -> Dataset:
    from music_dwh.datagen.sparkify import generate_sparkify
    from music_dwh.resources.raw_store import open_raw_store

    raw.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    summary = generate_sparkify(
        open_raw_store(str(raw)), start=DEFAULT_START, days=days, events_per_day=events_per_day,
        songs=songs, seed=seed,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    return Dataset(
        raw=raw,
        days=days,
        events_per_day=events_per_day,
        events=summary.events,
        plays=summary.plays,
        songs=summary.songs,
        users=summary.users,
        log_bytes=_tree_bytes(raw / "sparkify" / "log_data"),
        song_bytes=_tree_bytes(raw / "sparkify" / "song_data"),
        generate_s=elapsed,
        first_day=DEFAULT_START,
        last_day=DEFAULT_START + dt.timedelta(days=days - 1),
    )


# ---------------------------------------------------------------------------- music_dwh runs
def music_dwh_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "music_dwh.cli", *args]


def music_dwh_env(raw: Path, warehouse_url: str, dagster_home: Path, reports: Path,
                  password: str | None = None) -> dict[str, str]:  # fmt: skip
    from music_dwh.bench.monitor import proc_env

    env = proc_env({
        "MUSIC_DWH_RAW": str(raw),
        "MUSIC_DWH_WAREHOUSE": warehouse_url,
        "DAGSTER_HOME": str(dagster_home),
        "MUSIC_DWH_REPORTS": str(reports),
        "MUSIC_DWH_SPARKIFY_START": DEFAULT_START.isoformat(),
    })  # fmt: skip
    if password:
        env["MUSIC_DWH_WAREHOUSE_PASSWORD"] = password
    return env


def prepare_manifest(env: dict[str, str], log: Path) -> None:
    """``music-dwh prepare`` (untimed): parse the dbt project for this warehouse, as ``make``
    does at install, so a timed run does not pay a re-parse caused by the previous approach."""
    import subprocess

    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.run(music_dwh_argv("prepare"), env=env, stdout=out, stderr=subprocess.STDOUT,
                              cwd=log.parent, check=False)  # fmt: skip
    if proc.returncode != 0:
        raise BenchError(f"music-dwh prepare failed; see {log}")


def _dbt_run_results(step: str, run_id: str) -> float | None:
    """dbt's own execution time (models and tests, without start-up and parse) of a step, from
    the run_results.json each of its invocations leaves in sql/target/<step>-<run id>-<uuid>/:
    summed, since a step on an empty warehouse runs two (``dbt run --empty`` for the missing
    tables, then the build)."""
    from music_dwh.dbt_project import dbt_project

    target = Path(dbt_project.project_dir) / "target"
    total, found = 0.0, False
    for folder in target.glob(f"{step}-{run_id[:7]}-*"):
        path = folder / "run_results.json"
        if path.exists():
            try:
                total += float(json.loads(path.read_text()).get("elapsed_time"))
                found = True
            except (ValueError, TypeError, OSError):
                return None
    return total if found else None


def pipeline_profile(dagster_home: Path, process_started: float, process_ended: float) -> dict:
    """Where a ``music-dwh load`` process spent its time, from its Dagster instance: start-up
    (interpreter, imports, manifest check, definitions) before the run, each step, and for dbt
    steps the time before dbt starts (selection, and the in-process parse on a process's first
    dbt step), the dbt invocation (models and tests, in the run's process) and after it (table
    metadata, Dagster events), from the "Running/Finished dbt command" lines that
    ``resources/dbt_cli.py`` logs and the ``run_results.json`` it writes."""
    import warnings

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance
    from dagster._core.instance.ref import InstanceRef

    instance = DagsterInstance.from_ref(InstanceRef.from_dir(str(dagster_home)))
    try:
        records = instance.get_run_records()
        if not records:
            return {}
        record = records[0]
        run_id = record.dagster_run.run_id
        created = record.create_timestamp.timestamp()
        steps: dict[str, dict] = {}
        for entry in instance.all_logs(run_id):
            key = entry.step_key
            if not key:
                continue
            step = steps.setdefault(key, {})
            kind = entry.dagster_event_type.value if entry.dagster_event_type else ""
            message = entry.user_message or ""
            if kind == "STEP_START":
                step["start"] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
                step["end"] = entry.timestamp
            elif message.startswith("Running dbt command"):
                step["dbt_start"] = entry.timestamp
            elif message.startswith("Finished dbt command"):
                step["dbt_end"] = entry.timestamp
        out_steps = []
        for key, s in steps.items():
            if "start" not in s or "end" not in s:
                continue
            row = {"step": key, "seconds": s["end"] - s["start"], "start": s["start"]}
            if "dbt_start" in s and "dbt_end" in s:
                row["before_dbt"] = s["dbt_start"] - s["start"]
                row["dbt_process"] = s["dbt_end"] - s["dbt_start"]
                row["after_dbt"] = s["end"] - s["dbt_end"]
                row["dbt_execution"] = _dbt_run_results(key, run_id)
            out_steps.append(row)
        out_steps.sort(key=lambda r: r["start"])
        for row in out_steps:
            row.pop("start")
        return {
            "run_id": run_id,
            "startup": created - process_started,
            "run_setup": (record.start_time or created) - created,
            "run": (record.end_time or created) - (record.start_time or created),
            "shutdown": process_ended - (record.end_time or created),
            "steps": out_steps,
        }
    finally:
        instance.dispose()


def _checks_line(log: Path) -> str:
    try:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("sparkify: checks"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# ---------------------------------------------------------------------------- warehouse reads
def duckdb_star_rows(path: Path) -> tuple[dict[str, int], int]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = {t: con.execute(f'select count(*) from sparkify."{t}"').fetchone()[0] for t in STAR_TABLES}
        matched = con.execute("select count(song_id) from sparkify.songplays").fetchone()[0]
    finally:
        con.close()
    return rows, matched


def postgres_star_rows(server, database: str, schema: str) -> tuple[dict[str, int], int]:
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            rows = {}
            for t in STAR_TABLES:
                cur.execute(f'select count(*) from "{schema}"."{t}"')
                rows[t] = cur.fetchone()[0]
            cur.execute(f'select count(song_id) from "{schema}".songplays')
            matched = cur.fetchone()[0]
    finally:
        con.close()
    return rows, matched


def compare_star(one_shot: Path, warehouse: Path) -> dict:
    """Rows of each star table that are in one DuckDB file and not the other (both ways)."""
    import duckdb

    con = duckdb.connect(str(one_shot), read_only=True)
    try:
        con.execute(f"attach '{warehouse}' as w (read_only)")
        result = {}
        for t in STAR_TABLES:
            a = con.execute(f'select count(*) from (select * from sparkify."{t}" except all select * from w.sparkify."{t}")').fetchone()[0]
            b = con.execute(f'select count(*) from (select * from w.sparkify."{t}" except all select * from sparkify."{t}")').fetchone()[0]
            result[t] = a + b
    finally:
        con.close()
    return result


# ---------------------------------------------------------------------------- storage
def duckdb_storage(path: Path) -> dict:
    """Bytes on disk of a DuckDB warehouse after CHECKPOINT, and per table an estimate from
    ``pragma_storage_info``: each persistent segment's extent in its block (up to the next
    segment, or the block's end) plus any extra blocks it spans."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
        block_size = con.execute("select block_size from pragma_database_size()").fetchone()[0]
        used_blocks = con.execute("select used_blocks from pragma_database_size()").fetchone()[0]
        tables = con.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables() "
            "where database_name = current_database() and not internal order by 1, 2"
        ).fetchall()
        segments: list[tuple[int, int, str]] = []
        extra: dict[str, int] = {}
        rows: dict[str, int] = {}
        for schema, table, _ in tables:
            name = f"{schema}.{table}"
            rows[name] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            extra[name] = 0
            for block_id, offset, additional in con.execute(
                "select block_id, block_offset, additional_block_ids from pragma_storage_info(?) "
                "where persistent and block_id >= 0",
                [name],
            ).fetchall():
                segments.append((block_id, offset, name))
                extra[name] += len(additional or []) * block_size
    finally:
        con.close()
    sizes = dict(extra)
    segments.sort()
    for i, (block, offset, name) in enumerate(segments):
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        end = nxt[1] if nxt and nxt[0] == block else block_size
        sizes[name] += max(0, end - offset)
    return {
        "file_bytes": path.stat().st_size,
        "used_bytes": used_blocks * block_size,
        "tables": {name: {"rows": rows[name], "bytes": sizes[name]} for name in rows},
    }


def postgres_storage(server, database: str, schemas: tuple[str, ...]) -> dict:
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select n.nspname, c.relname, pg_total_relation_size(c.oid) from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') "
                "and n.nspname = any(%s) order by 1, 2",
                [list(schemas)],
            )
            tables = {}
            for schema, table, size in cur.fetchall():
                cur.execute(f'select count(*) from "{schema}"."{table}"')
                tables[f"{schema}.{table}"] = {"rows": cur.fetchone()[0], "bytes": size}
            cur.execute("select pg_database_size(current_database())")
            database_bytes = cur.fetchone()[0]
    finally:
        con.close()
    return {"database_bytes": database_bytes, "tables": tables}


# ---------------------------------------------------------------------------- queries
def query_files() -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted((PACKAGE_DIR / "queries").glob("*.sql"))}


def _time_queries(execute: Callable[[str], int]) -> dict[str, dict]:
    results = {}
    for name, sql in query_files().items():
        rows = execute(sql)  # warm-up (not timed)
        times = []
        for _ in range(QUERY_RUNS):
            started = time.perf_counter()
            execute(sql)
            times.append(time.perf_counter() - started)
        results[name] = {"median_s": statistics.median(times), "min_s": min(times), "rows": rows}
    return results


def duckdb_queries(path: Path) -> dict[str, dict]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return _time_queries(lambda sql: len(con.execute(sql).fetchall()))
    finally:
        con.close()


def postgres_queries(server, database: str) -> dict[str, dict]:
    con = server.connect(database)
    con.autocommit = True
    try:
        with con.cursor() as cur:

            def execute(sql: str) -> int:
                cur.execute(sql)
                return len(cur.fetchall())

            return _time_queries(execute)
    finally:
        con.close()


# ---------------------------------------------------------------------------- the bench
class Bench:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.report = Report(config=config, machine=machine_info())
        self.server = None
        self.work: Path | None = None
        self.duckdb_warehouse: Path | None = None  # the last music_dwh DuckDB run's warehouse
        self.duckdb_star_warehouse: Path | None = None  # the last `--through star` run's
        self.postgres_database: str | None = None
        self.seed_database: str | None = None

    # -------------------------------------------------------------- helpers
    def _ok(self, name: str) -> bool:
        result = self.report.approaches.get(name)
        return bool(result and result.ok)

    def _measure(self, label: str, argv: list[str], env: dict, log: Path, server: bool = False):
        from music_dwh.bench.monitor import measure

        pid = self.server.postmaster_pid if (server and self.server) else None
        m = measure(argv, log=log, env=env, cwd=log.parent, server_pid=pid)
        extra = f", server {_mb(m.server_peak_pss)}" if m.server_peak_pss else ""
        state = "ok" if m.returncode == 0 else f"FAILED (exit {m.returncode}; log {log})"
        say(f"  {label}: {m.wall_s:.1f} s, peak {_mb(m.peak_rss)}{extra} — {state}")
        return m

    def _run_of(self, m, detail: dict | None = None) -> Run:
        ok = m.returncode == 0
        detail = {**(detail or {}), "peak_processes": m.describe_peak(), "monitor_cpu_s": m.monitor_cpu_s,
                  "wall_s": m.wall_s}  # fmt: skip
        return Run(wall_s=m.wall_s, cpu_s=m.cpu_s, peak_rss=m.peak_rss, server_peak_pss=m.server_peak_pss,
                   ok=ok, detail=detail, error="" if ok else m.tail(2000))  # fmt: skip

    def _pg_env(self) -> dict[str, str]:
        from music_dwh.bench.monitor import proc_env

        return proc_env({"PGPASSWORD": self.server.password})

    # -------------------------------------------------------------- approaches
    def run_floor(self, result: ApproachResult, rep: int) -> None:
        from music_dwh.bench.monitor import proc_env

        ds = self.report.dataset
        log = self.work / "logs" / f"floor-{rep}.log"
        m = self._measure(f"floor run {rep}", [sys.executable, "-m", "music_dwh.bench.floor", "--raw", str(ds.raw)],
                          proc_env({}), log)  # fmt: skip
        detail = read_result(log)
        result.runs.append(self._run_of(m, detail))
        if m.returncode == 0 and detail.get("events") != ds.events:
            result.note = f"counted {detail.get('events')} events, generator wrote {ds.events}"

    def run_oneshot(self, result: ApproachResult, rep: int) -> None:
        from music_dwh.bench.monitor import proc_env

        ds = self.report.dataset
        db = self.work / "oneshot" / "star.duckdb"
        db.parent.mkdir(parents=True, exist_ok=True)
        for p in (db, db.with_suffix(".duckdb.wal")):
            p.unlink(missing_ok=True)
        log = self.work / "logs" / f"oneshot-{rep}.log"
        argv = [sys.executable, "-m", "music_dwh.bench.one_shot", "--raw", str(ds.raw), "--db", str(db)]
        m = self._measure(f"one-shot run {rep}", argv, proc_env({}), log)
        detail = read_result(log)
        result.runs.append(self._run_of(m, detail))
        if m.returncode == 0:
            result.rows, result.matched_plays = detail.get("rows", {}), detail.get("matched_plays")

    def run_duckdb(self, result: ApproachResult, rep: int, through: str | None = None) -> None:
        ds = self.report.dataset
        key = f"duckdb-{through}" if through else "duckdb"
        base = self.work / key
        warehouse = base / "warehouse.duckdb"
        home = base / f"dagster-{rep}"
        env = music_dwh_env(ds.raw, f"duckdb:///{warehouse}", home, base / "reports")
        if rep == 1:
            base.mkdir(parents=True, exist_ok=True)
            prepare_manifest(env, base / "prepare.log")
        for p in (warehouse, Path(f"{warehouse}.wal")):
            p.unlink(missing_ok=True)
        shutil.rmtree(home, ignore_errors=True)
        log = self.work / "logs" / f"{key}-{rep}.log"
        argv = music_dwh_argv("load", "sparkify", *(("--through", through) if through else ()))
        began = time.time()
        m = self._measure(f"music_dwh on DuckDB{' --through ' + through if through else ''} run {rep}", argv, env, log)
        ended = time.time()
        run = self._run_of(m, {"checks": _checks_line(log)})
        run.detail["profile"] = _safe(lambda: pipeline_profile(home, began, ended), {})
        result.runs.append(run)
        if m.returncode == 0:
            result.rows, result.matched_plays = duckdb_star_rows(warehouse)
        if through:
            self.duckdb_star_warehouse = warehouse
        else:
            self.duckdb_warehouse = warehouse

    def run_duckdb_star(self, result: ApproachResult, rep: int) -> None:
        self.run_duckdb(result, rep, through="star")

    def run_postgres(self, result: ApproachResult, rep: int) -> None:
        ds = self.report.dataset
        base = self.work / "postgres"
        database = "music_dwh_bench"
        home = base / f"dagster-{rep}"
        env = music_dwh_env(ds.raw, self.server.url(database), home, base / "reports", self.server.password)
        if rep == 1:
            base.mkdir(parents=True, exist_ok=True)
            prepare_manifest(env, base / "prepare.log")
        self.server.recreate_database(database)
        shutil.rmtree(home, ignore_errors=True)
        log = self.work / "logs" / f"postgres-{rep}.log"
        began = time.time()
        m = self._measure(f"music_dwh on PostgreSQL run {rep}", music_dwh_argv("load", "sparkify"), env, log,
                          server=True)  # fmt: skip
        ended = time.time()
        run = self._run_of(m, {"checks": _checks_line(log)})
        run.detail["profile"] = _safe(lambda: pipeline_profile(home, began, ended), {})
        result.runs.append(run)
        if m.returncode == 0:
            result.rows, result.matched_plays = postgres_star_rows(self.server, database, "sparkify")
        self.postgres_database = database

    def run_seed_elt(self, result: ApproachResult, rep: int) -> None:
        ds = self.report.dataset
        database = "seed_elt"
        self.server.recreate_database(database)
        log = self.work / "logs" / f"seed-elt-{rep}.log"
        argv = [sys.executable, "-m", "music_dwh.bench.seed_elt", "--raw", str(ds.raw),
                *self.server.client_args(database)]  # fmt: skip
        m = self._measure(f"seeds' ELT run {rep}", argv, self._pg_env(), log, server=True)
        detail = read_result(log)
        result.runs.append(self._run_of(m, detail))
        if m.returncode == 0:
            result.rows = {k: v for k, v in detail.get("rows", {}).items() if k in STAR_TABLES}
            result.matched_plays = detail.get("matched_plays")
        self.seed_database = database

    def run_row_by_row(self, result: ApproachResult, rep: int) -> None:
        ds = self.report.dataset
        database = "row_by_row"
        self.server.recreate_database(database)
        log = self.work / "logs" / f"row-by-row-{rep}.log"
        argv = [sys.executable, "-m", "music_dwh.bench.row_by_row", "--raw", str(ds.raw),
                "--days", str(self.config.row_by_row_days), *self.server.client_args(database)]  # fmt: skip
        m = self._measure(f"row-by-row run {rep}", argv, self._pg_env(), log, server=True)
        detail = read_result(log)
        result.runs.append(self._run_of(m, detail))
        if m.returncode == 0:
            result.rows, result.matched_plays = detail.get("rows", {}), detail.get("matched_plays")
            result.events = detail.get("events", result.events)

    # -------------------------------------------------------------- per-event costs
    def finish_approach(self, result: ApproachResult) -> None:
        ds = self.report.dataset
        wall = result.median_wall
        if wall is None or not result.events:
            return
        if result.name != "row-by-row":
            result.seconds_per_event = wall / result.events
            return
        # Scale the sample run to the whole dataset: the per-file log phase grows with the
        # events, the rest (interpreter, imports, the song catalogue) is paid once.
        ok = [r for r in result.runs if r.ok]
        logs = statistics.median(r.detail.get("phases", {}).get("logs", 0.0) for r in ok)
        fixed = wall - logs
        full = fixed + logs * ds.events / result.events
        result.seconds_per_event = full / ds.events
        result.profile = {"sample_events": result.events, "logs_phase_s": logs, "fixed_s": fixed,
                          "full_scale_s": full}  # fmt: skip
        result.note = (
            f"{self.config.row_by_row_days} day(s), {result.events:,} events; per event: the log phase "
            f"({logs:.1f} s) scaled to {ds.events:,} events + the fixed part once ({fixed:.1f} s: start-up, "
            f"{ds.songs:,} song files) = {full:,.0f} s for the full dataset"
        )

    # -------------------------------------------------------------- incremental
    def run_incremental(self) -> None:
        cfg = self.config
        points = cfg.incremental_loaded
        days = points[-1] + 1
        base = self.work / "incremental"
        say(f"Incremental: generating {days} days × {cfg.incremental_events_per_day:,} events, "
            f"{cfg.songs:,} songs")  # fmt: skip
        ds = generate(base / "raw", days, cfg.incremental_events_per_day, cfg.songs, cfg.seed)
        self.report.incremental_info = {
            "days": days, "events_per_day": cfg.incremental_events_per_day, "events": ds.events,
            "songs": ds.songs, "raw_json_bytes": ds.raw_json_bytes, "repeat": cfg.repeat,
        }  # fmt: skip
        warehouse = base / "warehouse.duckdb"
        home = base / "dagster"
        env = music_dwh_env(ds.raw, f"duckdb:///{warehouse}", home, base / "reports")
        prepare_manifest(env, base / "prepare.log")
        loaded = 0  # days 1..loaded are in the warehouse

        def day(n: int) -> str:  # the n-th day, 1-based
            return (DEFAULT_START + dt.timedelta(days=n - 1)).isoformat()

        for target in points:
            setup_s = None
            if loaded < target:
                log = self.work / "logs" / f"incremental-setup-{target}.log"
                m = self._measure(f"incremental set-up: load days {loaded + 1}–{target}",
                                  music_dwh_argv("load", "sparkify", "--start", day(loaded + 1), "--end", day(target)),
                                  env, log)  # fmt: skip
                if m.returncode != 0:
                    raise BenchError(f"incremental set-up load failed; see {log}\n{m.tail()}")
                setup_s = m.wall_s
                loaded = target
            walls, peak, profile = [], 0, {}
            new_day = day(loaded + 1)
            for rep in range(1, cfg.repeat + 1):
                log = self.work / "logs" / f"incremental-{target}-{rep}.log"
                what = "new day" if rep == 1 else "same day again"
                began = time.time()
                m = self._measure(f"incremental: {loaded} day(s) loaded, load {new_day} ({what})",
                                  music_dwh_argv("load", "sparkify", "--start", new_day, "--end", new_day), env,
                                  log)  # fmt: skip
                ended = time.time()
                if m.returncode != 0:
                    raise BenchError(f"incremental load failed; see {log}\n{m.tail()}")
                walls.append(m.wall_s)
                peak = max(peak, m.peak_rss)
                if rep == 1:
                    profile = _safe(lambda b=began, e=ended: pipeline_profile(home, b, e), {})
            self.report.incremental.append(IncrementalPoint(loaded, new_day, walls, peak, setup_s, profile))
            loaded += 1

    # -------------------------------------------------------------- storage and queries
    def measure_storage(self) -> None:
        storage = {"raw_json_bytes": self.report.dataset.raw_json_bytes,
                   "log_bytes": self.report.dataset.log_bytes, "song_bytes": self.report.dataset.song_bytes}  # fmt: skip
        if self._ok("duckdb") and self.duckdb_warehouse:
            storage["duckdb"] = duckdb_storage(self.duckdb_warehouse)
        oneshot = self.work / "oneshot" / "star.duckdb"
        if self._ok("oneshot") and oneshot.exists():
            storage["oneshot"] = duckdb_storage(oneshot)
        if self._ok("postgres") and self.postgres_database:
            storage["postgres"] = postgres_storage(self.server, self.postgres_database, ("sparkify",))
        if self._ok("seed-elt") and self.seed_database:
            storage["seed-elt"] = postgres_storage(self.server, self.seed_database, ("public",))
        self.report.storage = storage

    def measure_queries(self) -> None:
        if self._ok("duckdb") and self.duckdb_warehouse:
            say("Queries on the DuckDB warehouse")
            self.report.queries["duckdb"] = duckdb_queries(self.duckdb_warehouse)
        if self._ok("postgres") and self.postgres_database:
            say("Queries on the PostgreSQL warehouse")
            self.report.queries["postgres"] = postgres_queries(self.server, self.postgres_database)

    # -------------------------------------------------------------- main
    def run(self) -> Report:
        cfg = self.config
        report = self.report
        report.started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        self.work = (cfg.workdir or Path(tempfile.mkdtemp(prefix="music-dwh-bench-"))).resolve()
        self.work.mkdir(parents=True, exist_ok=True)
        say(f"Work folder {self.work}")
        try:
            say(f"Generating {cfg.days} days × {cfg.events_per_day:,} events, {cfg.songs:,} songs")
            report.dataset = generate(self.work / "raw", cfg.days, cfg.events_per_day, cfg.songs, cfg.seed)
            ds = report.dataset
            say(f"  {ds.events:,} events ({ds.plays:,} plays), raw JSON {_mb(ds.raw_json_bytes)} "
                f"in {ds.generate_s:.1f} s")  # fmt: skip
            if any(a in POSTGRES_APPROACHES for a in cfg.approaches):
                from music_dwh.bench.pgserver import LocalPostgres

                say("Starting a local PostgreSQL server")
                self.server = LocalPostgres.start()
                report.machine["postgresql"] = self.server.version()
            for i, name in enumerate(cfg.approaches, start=1):
                say(f"[{i}/{len(cfg.approaches)}] {APPROACHES[name].replace('**', '')}")
                events = ds.events
                result = ApproachResult(name=name, events=events)
                report.approaches[name] = result
                runner = getattr(self, "run_" + name.replace("-", "_"))
                for rep in range(1, cfg.repeat + 1):
                    runner(result, rep)
                    if not result.runs[-1].ok:
                        report.failures.append(f"{name} run {rep}: {result.runs[-1].error[-1500:]}")
                        break
                self.finish_approach(result)
            if self._ok("oneshot") and self._ok("duckdb"):
                report.consistency = _safe(
                    lambda: compare_star(self.work / "oneshot" / "star.duckdb", self.duckdb_warehouse), {}
                )
            say("Storage")
            self.measure_storage()
            if not cfg.skip_queries:
                self.measure_queries()
            if not cfg.skip_incremental:
                try:
                    self.run_incremental()
                except BenchError as exc:
                    report.failures.append(f"incremental: {exc}")
                    say(f"incremental FAILED: {exc}")
            from music_dwh.bench import orchestration

            orchestration.run(self)
        finally:
            if self.server is not None:
                say("Stopping the PostgreSQL server")
                self.server.stop()
            report.finished = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            report.machine["load_end"] = os.getloadavg()
            if not cfg.keep and cfg.workdir is None:
                shutil.rmtree(self.work, ignore_errors=True)
        return report


def _safe(fn: Callable, default):
    try:
        return fn()
    except Exception as exc:  # a profile or a comparison must never sink the benchmark
        say(f"  (skipped: {type(exc).__name__}: {exc})")
        return default


def _mb(n: int | None) -> str:
    if n is None:
        return "–"
    if n >= 1024**3:
        return f"{n / 1024**3:.2f} GB"
    return f"{n / 1024**2:,.0f} MB" if n >= 10 * 1024**2 else f"{n / 1024**2:.1f} MB"


# ---------------------------------------------------------------------------- entry point
def main(args: argparse.Namespace) -> int:
    from music_dwh.bench.report import render

    from music_dwh.bench import orchestration

    config = config_from_args(args)
    orchestration.check_config(config)
    if any(a in POSTGRES_APPROACHES for a in config.approaches):
        from music_dwh.bench.pgserver import postgres_bindir

        if postgres_bindir() is None:
            raise BenchError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install them "
                "(apt-get install -y postgresql) or choose --approaches floor,oneshot,duckdb"
            )
    _cleanup_on_signals()
    report = Bench(config).run()
    markdown = render(report)
    out = config.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown)
    out.with_suffix(".json").write_text(json.dumps(_jsonable(report), indent=2, default=str) + "\n")
    print()
    print(markdown, flush=True)
    say(f"Results written to {out} (and {out.with_suffix('.json').name})")
    if report.failures:
        say(f"{len(report.failures)} part(s) FAILED:")
        for failure in report.failures:
            print(failure, file=sys.stderr)
        return 1
    return 0


def _cleanup_on_signals() -> None:
    """SIGINT raises KeyboardInterrupt even where a shell started the bench in the background
    (which ignores SIGINT); SIGTERM and SIGHUP already raise ``Interrupted`` (``music-dwh``'s
    main). Either way the PostgreSQL server is stopped and the work folder removed on the way
    out, and a running ``music-dwh load`` is killed with its worker."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)


def _jsonable(report: Report) -> dict:
    from music_dwh.bench.report import targets

    data = asdict(report)
    data["approaches"] = {
        name: {**asdict(r), "median_wall": r.median_wall, "peak_rss": r.peak_rss, "server_peak": r.server_peak}
        for name, r in report.approaches.items()
    }
    if report.dataset:
        data["targets"] = [{"target": t, "measured": m, "result": v} for t, m, v in targets(report)]
    return data
