"""The bench's run: every approach ``--repeat`` times, then the storage, query-latency,
incremental and orchestration-cost parts, into one :class:`~bench.model.Report`.
Each approach is a process measured by :mod:`~bench.monitor`."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.commands import music_dwh_argv, music_dwh_env, prepare_manifest
from bench.common import read_result
from bench.dataset import generate
from bench.machine import machine_info
from bench.model import (
    APPROACHES,
    DEFAULT_START,
    POSTGRES_APPROACHES,
    STAR_TABLES,
    ApproachResult,
    BenchConfig,
    BenchError,
    IncrementalPoint,
    Report,
    Run,
    safe,
    say,
)
from bench.profile import checks_line, pipeline_profile
from bench.query_timing import duckdb_queries, postgres_queries
from bench.storage import (
    compare_star,
    duckdb_star_rows,
    duckdb_storage,
    postgres_star_rows,
    postgres_storage,
)
from bench.text import mb


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
        from bench.monitor import measure

        pid = self.server.postmaster_pid if (server and self.server) else None
        m = measure(argv, log=log, env=env, cwd=log.parent, server_pid=pid)
        extra = f", server {mb(m.server_peak_pss)}" if m.server_peak_pss else ""
        state = "ok" if m.returncode == 0 else f"FAILED (exit {m.returncode}; log {log})"
        say(f"  {label}: {m.wall_s:.1f} s, peak {mb(m.peak_rss)}{extra} — {state}")
        return m

    def _run_of(self, m, detail: dict | None = None) -> Run:
        ok = m.returncode == 0
        detail = {
            **(detail or {}),
            "peak_processes": m.describe_peak(),
            "monitor_cpu_s": m.monitor_cpu_s,
            "wall_s": m.wall_s,
        }
        return Run(
            wall_s=m.wall_s,
            cpu_s=m.cpu_s,
            peak_rss=m.peak_rss,
            server_peak_pss=m.server_peak_pss,
            ok=ok,
            detail=detail,
            error="" if ok else m.tail(2000),
        )

    def _pg_env(self) -> dict[str, str]:
        from bench.monitor import proc_env

        return proc_env({"PGPASSWORD": self.server.password})

    # -------------------------------------------------------------- approaches
    def _run_duckdb_script(
        self, result: ApproachResult, rep: int, name: str, module: str, db: Path | None = None
    ) -> dict:
        """One run of a DuckDB baseline script (``python -m bench.<module>``), into a
        new database file ``db`` when it writes one; returns what it reported."""
        from bench.monitor import proc_env

        ds = self.report.dataset
        argv = [sys.executable, "-m", f"bench.{module}", "--raw", str(ds.raw)]
        if db is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
            for p in (db, db.with_suffix(".duckdb.wal")):
                p.unlink(missing_ok=True)
            argv += ["--db", str(db)]
        log = self.work / "logs" / f"{module}-{rep}.log"
        m = self._measure(f"{name} run {rep}", argv, proc_env({}), log)
        detail = read_result(log)
        result.runs.append(self._run_of(m, detail))
        if m.returncode == 0 and "events" in detail and detail["events"] != ds.events:
            result.note = f"read {detail['events']} events, generator wrote {ds.events}"
        return detail if m.returncode == 0 else {}

    def run_floor(self, result: ApproachResult, rep: int) -> None:
        self._run_duckdb_script(result, rep, "floor", "floor")

    def run_reader(self, result: ApproachResult, rep: int) -> None:
        db = self.work / "reader" / "events.duckdb"
        self._run_duckdb_script(result, rep, "reader", "reader", db)
        db.unlink(missing_ok=True)  # as large as the staged events: not kept for the storage part

    def run_oneshot(self, result: ApproachResult, rep: int) -> None:
        db = self.work / "oneshot" / "star.duckdb"
        detail = self._run_duckdb_script(result, rep, "one-shot", "one_shot", db)
        if detail:
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
        m = self._measure(
            f"music_dwh on DuckDB{' --through ' + through if through else ''} run {rep}",
            argv,
            env,
            log,
        )
        ended = time.time()
        run = self._run_of(m, {"checks": checks_line(log)})
        run.detail["profile"] = safe(lambda: pipeline_profile(home, began, ended), {})
        result.runs.append(run)
        if through == "staging":
            return  # no star schema to count or compare
        if m.returncode == 0:
            result.rows, result.matched_plays = duckdb_star_rows(warehouse)
        if through:
            self.duckdb_star_warehouse = warehouse
        else:
            self.duckdb_warehouse = warehouse

    def run_duckdb_star(self, result: ApproachResult, rep: int) -> None:
        self.run_duckdb(result, rep, through="star")

    def run_duckdb_staging(self, result: ApproachResult, rep: int) -> None:
        self.run_duckdb(result, rep, through="staging")

    def run_postgres(self, result: ApproachResult, rep: int) -> None:
        ds = self.report.dataset
        base = self.work / "postgres"
        database = "music_dwh_bench"
        home = base / f"dagster-{rep}"
        env = music_dwh_env(
            ds.raw, self.server.url(database), home, base / "reports", self.server.password
        )
        if rep == 1:
            base.mkdir(parents=True, exist_ok=True)
            prepare_manifest(env, base / "prepare.log")
        self.server.recreate_database(database)
        shutil.rmtree(home, ignore_errors=True)
        log = self.work / "logs" / f"postgres-{rep}.log"
        began = time.time()
        m = self._measure(
            f"music_dwh on PostgreSQL run {rep}",
            music_dwh_argv("load", "sparkify"),
            env,
            log,
            server=True,
        )
        ended = time.time()
        run = self._run_of(m, {"checks": checks_line(log)})
        run.detail["profile"] = safe(lambda: pipeline_profile(home, began, ended), {})
        result.runs.append(run)
        if m.returncode == 0:
            result.rows, result.matched_plays = postgres_star_rows(
                self.server, database, "sparkify"
            )
        self.postgres_database = database

    def run_seed_elt(self, result: ApproachResult, rep: int) -> None:
        ds = self.report.dataset
        database = "seed_elt"
        self.server.recreate_database(database)
        log = self.work / "logs" / f"seed-elt-{rep}.log"
        argv = [
            sys.executable,
            "-m",
            "bench.seed_elt",
            "--raw",
            str(ds.raw),
            *self.server.client_args(database),
        ]
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
        argv = [
            sys.executable,
            "-m",
            "bench.row_by_row",
            "--raw",
            str(ds.raw),
            "--days",
            str(self.config.row_by_row_days),
            *self.server.client_args(database),
        ]
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
        result.profile = {
            "sample_events": result.events,
            "logs_phase_s": logs,
            "fixed_s": fixed,
            "full_scale_s": full,
        }
        result.note = (
            f"{self.config.row_by_row_days} day(s), {result.events:,} events; per event: "
            f"the log phase ({logs:.1f} s) scaled to {ds.events:,} events + the fixed part once "
            f"({fixed:.1f} s: start-up, {ds.songs:,} song files) = {full:,.0f} s for the full "
            "dataset"
        )

    # -------------------------------------------------------------- incremental
    def run_incremental(self) -> None:
        cfg = self.config
        points = cfg.incremental_loaded
        days = points[-1] + 1
        base = self.work / "incremental"
        say(
            f"Incremental: generating {days} days × {cfg.incremental_events_per_day:,} events, "
            f"{cfg.songs:,} songs"
        )
        ds = generate(base / "raw", days, cfg.incremental_events_per_day, cfg.songs, cfg.seed)
        self.report.incremental_info = {
            "days": days,
            "events_per_day": cfg.incremental_events_per_day,
            "events": ds.events,
            "songs": ds.songs,
            "raw_json_bytes": ds.raw_json_bytes,
            "repeat": cfg.repeat,
        }
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
                m = self._measure(
                    f"incremental set-up: load days {loaded + 1}–{target}",
                    music_dwh_argv(
                        "load", "sparkify", "--start", day(loaded + 1), "--end", day(target)
                    ),
                    env,
                    log,
                )
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
                m = self._measure(
                    f"incremental: {loaded} day(s) loaded, load {new_day} ({what})",
                    music_dwh_argv("load", "sparkify", "--start", new_day, "--end", new_day),
                    env,
                    log,
                )
                ended = time.time()
                if m.returncode != 0:
                    raise BenchError(f"incremental load failed; see {log}\n{m.tail()}")
                walls.append(m.wall_s)
                peak = max(peak, m.peak_rss)
                if rep == 1:
                    profile = safe(lambda b=began, e=ended: pipeline_profile(home, b, e), {})
            self.report.incremental.append(
                IncrementalPoint(loaded, new_day, walls, peak, setup_s, profile)
            )
            loaded += 1

    # -------------------------------------------------------------- storage and queries
    def measure_storage(self) -> None:
        storage = {
            "raw_json_bytes": self.report.dataset.raw_json_bytes,
            "log_bytes": self.report.dataset.log_bytes,
            "song_bytes": self.report.dataset.song_bytes,
        }
        if self._ok("duckdb") and self.duckdb_warehouse:
            storage["duckdb"] = duckdb_storage(self.duckdb_warehouse)
        oneshot = self.work / "oneshot" / "star.duckdb"
        if self._ok("oneshot") and oneshot.exists():
            storage["oneshot"] = duckdb_storage(oneshot)
        if self._ok("postgres") and self.postgres_database:
            storage["postgres"] = postgres_storage(
                self.server, self.postgres_database, ("sparkify",)
            )
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
            report.dataset = generate(
                self.work / "raw", cfg.days, cfg.events_per_day, cfg.songs, cfg.seed
            )
            ds = report.dataset
            say(
                f"  {ds.events:,} events ({ds.plays:,} plays), raw JSON {mb(ds.raw_json_bytes)} "
                f"in {ds.generate_s:.1f} s"
            )
            if any(a in POSTGRES_APPROACHES for a in cfg.approaches):
                from bench.pgserver import LocalPostgres

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
                report.consistency = safe(
                    lambda: compare_star(
                        self.work / "oneshot" / "star.duckdb", self.duckdb_warehouse
                    ),
                    {},
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
            from bench import orchestration

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
