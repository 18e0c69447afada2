"""Issue 13's orchestration-cost measurements, run by ``music-dwh bench`` after the others.

What a run costs beyond the work on the data, measured side by side in one bench run:

* **Import baseline**: ``python -c "import dagster, dagster_dbt, dbt.cli.main"``, ``--repeat``
  times (median): the least any process that runs Dagster and dbt pays. The incremental
  section's one new day with 30 days loaded is compared with it (target ≤ 3×).
* **Spread**: the same events (``--spread-events``, default 81,000 = 30 × 2,700) generated once
  over 30 days and once over 300 days (``--spread-days``); a whole ``music-dwh load sparkify``
  of each (fresh warehouse and DAGSTER_HOME every run, ``--repeat`` times): what the number of
  daily partitions costs when the data does not grow (target ≤ 1.5×).
* **Public Chinook history**: ``music-dwh export-chinook`` of ``../shared/data/chinook/
  Chinook_Sqlite.sqlite`` (untimed set-up), then ``music-dwh load chinook`` of its 1,817 days,
  on the SQLite Dagster instance and on a PostgreSQL-backed one
  (``MUSIC_DWH_DAGSTER_STORAGE=postgresql://…`` on the harness's local server); target ≤ 30 s
  each. Skipped with a reason when the file is absent (or with ``--skip-chinook``).

The ``duckdb-star`` approach (``music-dwh load sparkify --through star``) is one of the
harness's approaches; its target, and the one-shot target at 10× scale, are in
``orchestration_report.target_rows``, with this part's report section. Heavy imports
(Dagster, DuckDB, psycopg2) happen inside functions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.commands import music_dwh_argv, music_dwh_env, prepare_manifest
from bench.dataset import generate
from bench.model import BenchError, say
from bench.model import safe as _safe
from bench.profile import pipeline_profile
from music_dwh.cli.common import positive
from music_dwh.settings import REPO_ROOT, temporary_environ

IMPORT_STATEMENT = "import dagster, dagster_dbt, dbt.cli.main"
DEFAULT_SPREAD_EVENTS = 81_000  # 30 days × 2,700 events
DEFAULT_SPREAD_DAYS = (30, 300)
DEFAULT_CHINOOK_SQLITE = REPO_ROOT.parent / "shared" / "data" / "chinook" / "Chinook_Sqlite.sqlite"
NEW_DAY_LOADED = 30  # the incremental point compared with the import baseline
STORAGE_VARIABLE = "MUSIC_DWH_DAGSTER_STORAGE"
STORAGE_PASSWORD_VARIABLE = "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD"
INSTANCE_DATABASE = "dagster_instance"

# Targets (issue 13; never weakened).
TARGET_MAX_NEW_DAY_TIMES_IMPORT = 3.0
TARGET_MAX_SPREAD_RATIO = 1.5
TARGET_MAX_CHINOOK_S = 30.0

# The Dagster instances the Chinook load is timed on: name → label. Each name has a branch in
# _instance_env (what MUSIC_DWH_DAGSTER_STORAGE is set to for it).
INSTANCES = {
    "sqlite": "SQLite instance (files in DAGSTER_HOME)",
    "postgresql": "PostgreSQL-backed instance (`MUSIC_DWH_DAGSTER_STORAGE=postgresql://…`)",
}


# ---------------------------------------------------------------------------- options
def _spread_days(text: str) -> tuple[int, int]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give two whole numbers of days, e.g. 30,300"
        ) from None
    if len(values) != 2 or min(values) < 1 or values[0] == values[1]:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give two different numbers of days (at least 1), e.g. 30,300"
        )
    return min(values), max(values)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the orchestration-cost part of ``music-dwh bench``."""
    parser.add_argument("--spread-events", type=positive, default=DEFAULT_SPREAD_EVENTS,
                        help=f"events generated once over each of --spread-days (default {DEFAULT_SPREAD_EVENTS:,}"
                             " = 30 × 2,700; a multiple of both numbers of days)")  # fmt: skip
    parser.add_argument("--spread-days", type=_spread_days, default=DEFAULT_SPREAD_DAYS,
                        help="SHORT,LONG: the two spreads of --spread-events (default 30,300)")  # fmt: skip
    parser.add_argument(
        "--skip-spread", action="store_true", help="no same-events-over-more-days runs"
    )
    parser.add_argument(
        "--chinook-sqlite",
        type=Path,
        default=DEFAULT_CHINOOK_SQLITE,
        help="the public Chinook database (default ../shared/data/chinook/Chinook_Sqlite.sqlite)",
    )
    parser.add_argument(
        "--skip-chinook", action="store_true", help="no public Chinook history runs"
    )


def check_config(config) -> None:
    """Raise BenchError (before any work) for options that cannot be measured as asked."""
    if config.skip_spread:
        return
    bad = [d for d in config.spread_days if config.spread_events % d]
    if bad:
        raise BenchError(
            f"--spread-events {config.spread_events:,} is not a multiple of {' and '.join(map(str, bad))} "
            f"(--spread-days {','.join(map(str, config.spread_days))}): both spreads must hold the same events"
        )


# ---------------------------------------------------------------------------- results
@dataclass
class Timing:
    """One command, measured up to ``--repeat`` times (stops at the first failure)."""

    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    peak_rss: int = 0
    server_peak_pss: int | None = None
    median_s: float | None = None
    checks: str = ""
    profile: dict = field(default_factory=dict)  # the median run's, see profile.pipeline_profile
    error: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.walls) and not self.error

    def add(self, m) -> None:
        self.walls.append(m.wall_s)
        self.cpus.append(m.cpu_s)
        self.peak_rss = max(self.peak_rss, m.peak_rss)
        if m.server_peak_pss is not None:
            self.server_peak_pss = max(self.server_peak_pss or 0, m.server_peak_pss)
        self.median_s = statistics.median(self.walls)


@dataclass
class SpreadPoint:
    days: int
    events_per_day: int
    events: int
    raw_json_bytes: int
    generate_s: float
    timing: Timing


@dataclass
class ChinookResult:
    status: str = ""  # "" when measured, else "not measured: …"
    sqlite: str = ""
    days: int = 0  # daily partitions loaded: first to last invoice day
    invoice_days: int = 0  # days with invoices
    first_day: str = ""
    last_day: str = ""
    raw_csv_bytes: int = 0
    export_s: float | None = None
    rows: dict[str, int] = field(default_factory=dict)  # of the SQLite instance's last run
    instances: dict[str, Timing] = field(default_factory=dict)
    instance_status: dict[str, str] = field(
        default_factory=dict
    )  # name → "not measured: …" / failure


@dataclass
class Orchestration:
    import_command: str = f'python -c "{IMPORT_STATEMENT}"'
    import_baseline: Timing | None = None
    import_status: str = ""
    spread_status: str = ""
    spread: list[SpreadPoint] = field(default_factory=list)
    chinook: ChinookResult | None = None
    star_consistency: dict[str, int] = field(default_factory=dict)  # duckdb-star vs the one-shot


# ---------------------------------------------------------------------------- helpers
def _instance_environ(env: dict[str, str]):
    """This process's environment names the same Dagster instance storage as ``env`` (for
    pipeline_profile, which opens the run's instance here)."""
    keys = (STORAGE_VARIABLE, STORAGE_PASSWORD_VARIABLE)
    return temporary_environ(
        {k: env[k] for k in keys if env.get(k)}, unset=[k for k in keys if not env.get(k)]
    )


def _checks_line(log: Path, system: str) -> str:
    try:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith(f"{system}: checks"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _timed_loads(bench, key: str, label: str, system: str, raw: Path, base: Path, extra_env: dict[str, str],
                 args: tuple[str, ...] = (), server: bool = False,
                 before_each: Callable[[], None] | None = None) -> Timing:  # fmt: skip
    """``music-dwh load SYSTEM ARGS`` ``--repeat`` times, each with a new DuckDB warehouse and
    DAGSTER_HOME (``before_each`` resets anything else, e.g. an instance database); ``music-dwh
    prepare`` once before, untimed, as for the harness's approaches."""
    timing = Timing()
    warehouse = base / "warehouse.duckdb"
    runs: list[tuple[float, dict]] = []
    base.mkdir(parents=True, exist_ok=True)
    for rep in range(1, bench.config.repeat + 1):
        home = base / f"dagster-{rep}"
        env = {**music_dwh_env(raw, f"duckdb:///{warehouse}", home, base / "reports"), **extra_env}
        if not extra_env.get(STORAGE_PASSWORD_VARIABLE):
            env.pop(STORAGE_PASSWORD_VARIABLE, None)
        if before_each:
            before_each()
        if rep == 1:
            prepare_manifest(env, base / "prepare.log")
            if before_each:
                before_each()
        for p in (warehouse, Path(f"{warehouse}.wal")):
            p.unlink(missing_ok=True)
        shutil.rmtree(home, ignore_errors=True)
        log = bench.work / "logs" / f"{key}-{rep}.log"
        began = time.time()
        m = bench._measure(
            f"{label} run {rep}", music_dwh_argv("load", system, *args), env, log, server=server
        )
        ended = time.time()
        if m.returncode != 0:
            timing.error = (
                f"{label} run {rep} failed (exit {m.returncode}); see {log}\n{m.tail(1500)}"
            )
            break
        timing.add(m)
        timing.checks = _checks_line(log, system)
        with _instance_environ(env):
            runs.append(
                (m.wall_s, _safe(lambda h=home, b=began, e=ended: pipeline_profile(h, b, e), {}))
            )
    if runs:
        ordered = sorted(runs, key=lambda r: r[0])
        timing.profile = ordered[(len(ordered) - 1) // 2][1]
    return timing


def _sqlite_instance() -> dict[str, str]:
    return {STORAGE_VARIABLE: "sqlite"}


# ---------------------------------------------------------------------------- import baseline
def measure_import_baseline(bench) -> Timing:
    from bench.monitor import proc_env

    timing = Timing()
    argv = [sys.executable, "-c", IMPORT_STATEMENT]
    for rep in range(1, bench.config.repeat + 1):
        log = bench.work / "logs" / f"import-baseline-{rep}.log"
        m = bench._measure(f"import baseline run {rep}", argv, proc_env({}), log)
        if m.returncode != 0:
            raise BenchError(
                f"the import baseline failed (exit {m.returncode}); see {log}\n{m.tail(1500)}"
            )
        timing.add(m)
    return timing


# ---------------------------------------------------------------------------- spread
def run_spread(bench, points: list[SpreadPoint]) -> None:
    """Appends each spread to ``points`` as it is measured (a failure keeps the ones before)."""
    cfg = bench.config
    for days in cfg.spread_days:
        per_day = cfg.spread_events // days
        base = bench.work / f"spread-{days}"
        say(
            f"Spread: {cfg.spread_events:,} events over {days} days ({per_day:,} a day), {cfg.songs:,} songs"
        )
        ds = generate(base / "raw", days, per_day, cfg.songs, cfg.seed)
        timing = _timed_loads(bench, f"spread-{days}", f"{ds.events:,} events over {days} days", "sparkify",
                              ds.raw, base, _sqlite_instance())  # fmt: skip
        points.append(
            SpreadPoint(days, per_day, ds.events, ds.raw_json_bytes, ds.generate_s, timing)
        )
        if not timing.ok:
            raise BenchError(timing.error)
        shutil.rmtree(base / "raw", ignore_errors=True)  # the disk, for the next spread


# ---------------------------------------------------------------------------- Chinook
def _shown(path: Path) -> str:
    """``../shared/data/chinook`` for a path beside the checkout, else the path itself."""
    try:
        return os.path.relpath(path, REPO_ROOT) if path.is_absolute() else str(path)
    except ValueError:
        return str(path)


def _chinook_days(raw: Path) -> list[dt.date]:
    days = []
    for invoice in (raw / "chinook" / "invoices").glob("*/*/*/invoice.csv"):
        y, m, d = invoice.parent.relative_to(raw / "chinook" / "invoices").parts
        days.append(dt.date(int(y), int(m), int(d)))
    return sorted(days)


def _chinook_rows(warehouse: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return {t: con.execute(f"select count(*) from chinook.{t}").fetchone()[0]
                for t in ("fact_invoice", "fact_invoice_line")}  # fmt: skip
    finally:
        con.close()


def _instance_env(bench, name: str) -> tuple[dict[str, str], Callable[[], None] | None]:
    """What a load on instance ``name`` adds to its environment, and what resets the instance
    before each run (besides its new DAGSTER_HOME)."""
    if name == "sqlite":
        return _sqlite_instance(), None
    if name == "postgresql":
        server = _server(bench)
        env = {
            STORAGE_VARIABLE: server.url(INSTANCE_DATABASE),
            STORAGE_PASSWORD_VARIABLE: server.password,
        }
        return env, lambda: server.recreate_database(INSTANCE_DATABASE)
    raise ValueError(name)


def _instance_unavailable(name: str) -> str:
    """Why instance ``name`` cannot be measured here ("" when it can)."""
    if name == "sqlite":
        return ""
    from music_dwh import settings

    if STORAGE_VARIABLE not in settings.DEFAULTS:
        return f"not measured: this version has no {STORAGE_VARIABLE} setting"
    from bench.pgserver import postgres_bindir

    if postgres_bindir() is None:
        return "not measured: PostgreSQL server binaries (initdb, pg_ctl) not found"
    return ""


def _server(bench):
    """The harness's local PostgreSQL server, started now if no approach needed it (the harness
    stops it at the end, whatever happens)."""
    if bench.server is None:
        from bench.pgserver import LocalPostgres

        say("Starting a local PostgreSQL server (the Dagster instance's storage)")
        bench.server = LocalPostgres.start()
        bench.report.machine["postgresql"] = bench.server.version()
    return bench.server


def run_chinook(bench) -> ChinookResult:
    from bench.monitor import proc_env

    cfg = bench.config
    path = Path(cfg.chinook_sqlite).expanduser()
    result = ChinookResult(sqlite=str(path))
    if cfg.skip_chinook:
        result.status = "not measured: --skip-chinook"
        return result
    if not path.is_file():
        missing = path if path.parent.is_dir() else path.parent
        result.status = f"not measured: {_shown(missing)} not found"
        return result
    base = bench.work / "chinook"
    raw = base / "raw"
    log = bench.work / "logs" / "chinook-export.log"
    m = bench._measure(
        "export-chinook (set-up, not a target)",
        music_dwh_argv("export-chinook", "--sqlite", str(path), "--out", str(raw)),
        proc_env({}),
        log,
    )
    if m.returncode != 0:
        raise BenchError(
            f"music-dwh export-chinook failed (exit {m.returncode}); see {log}\n{m.tail(1500)}"
        )
    days = _chinook_days(raw)
    if not days:
        raise BenchError(f"music-dwh export-chinook wrote no invoice days into {raw}")
    result.export_s = m.wall_s
    result.days = (days[-1] - days[0]).days + 1
    result.invoice_days, result.first_day, result.last_day = (
        len(days),
        days[0].isoformat(),
        days[-1].isoformat(),
    )
    result.raw_csv_bytes = sum(p.stat().st_size for p in (raw / "chinook").rglob("*.csv"))
    say(f"  {result.days:,} days {days[0]} – {days[-1]}, {len(days):,} of them with invoices")
    start = {"MUSIC_DWH_CHINOOK_START": days[0].isoformat()}
    for name, label in INSTANCES.items():
        why = _instance_unavailable(name)
        if why:
            result.instance_status[name] = why
            say(f"  Chinook on the {label}: {why}")
            continue
        extra, reset = _instance_env(bench, name)
        timing = _timed_loads(
            bench,
            f"chinook-{name}",
            f"Chinook history, {name} instance",
            "chinook",
            raw,
            base / name,
            {**extra, **start},
            server=name == "postgresql",
            before_each=reset,
        )
        result.instances[name] = timing
        if not timing.ok:
            result.instance_status[name] = f"FAILED: {timing.error.splitlines()[0]}"
            bench.report.failures.append(f"chinook ({name} instance): {timing.error}")
        elif name == "sqlite":
            db = base / name / "warehouse.duckdb"
            result.rows = _safe(lambda db=db: _chinook_rows(db), {})
    return result


# ---------------------------------------------------------------------------- the part
def run(bench) -> None:
    """Every orchestration-cost measurement; a part that fails is reported and the others run."""
    report = bench.report
    cfg = bench.config
    result = Orchestration()
    report.orchestration = result
    star = getattr(bench, "duckdb_star_warehouse", None)
    oneshot = bench.work / "oneshot" / "star.duckdb"
    if star and bench._ok("duckdb-star") and bench._ok("oneshot"):
        from bench.storage import compare_star

        result.star_consistency = _safe(lambda: compare_star(oneshot, star), {})

    say(f"Import baseline: {result.import_command}")
    try:
        result.import_baseline = measure_import_baseline(bench)
    except BenchError as exc:
        result.import_status = "FAILED"
        report.failures.append(f"import baseline: {exc}")

    if cfg.skip_spread:
        result.spread_status = "not measured: --skip-spread"
    else:
        try:
            run_spread(bench, result.spread)
        except BenchError as exc:
            result.spread_status = "FAILED"
            report.failures.append(f"spread: {exc}")
            say(f"spread FAILED: {exc}")

    say("Public Chinook history")
    try:
        result.chinook = run_chinook(bench)
        if result.chinook.status:
            say(f"  {result.chinook.status}")
    except BenchError as exc:
        result.chinook = ChinookResult(sqlite=str(cfg.chinook_sqlite), status="FAILED")
        report.failures.append(f"chinook: {exc}")
        say(f"chinook FAILED: {exc}")
