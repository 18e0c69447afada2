"""File landed → rows in the star, for one day, through the Dagster daemon.

``music-dwh bench-latency`` sets up a private workspace (raw store, DuckDB warehouse,
``DAGSTER_HOME`` with the shipped ``dagster.yaml``) under ``--work`` (default a temporary
folder), generates a small Sparkify dataset, loads the song catalogue and the first day with
``music-dwh load`` (the catch-up a deployment starts with), then runs the Dagster daemon
(``dagster-daemon run -w workspace.yaml``: sensors, run queue, run monitoring, retries) with
``sparkify_log_sensor`` on. For each measured day it lands the day's log file in the raw store
(written beside, then renamed into place: the moment it lands) and waits for that day's run.

Per day it reports, from the instance's own timestamps:

* **sensor**: landed → run created by the sensor's tick (at most ``MUSIC_DWH_SENSOR_INTERVAL``
  plus the tick's own time);
* **queue**: created → the run's process started;
* **run**: started → ``sparkify/songplays`` materialized for the day (its rows committed);
* **total**: landed → rows in ``songplays`` (then checked in the warehouse).

Nothing else runs meanwhile (one day at a time, the machine otherwise idle), so the figure is
the floor a deployment sees with that interval. Every process started here is ended, as a
process group, however the command ends.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from music_dwh.settings import REPO_ROOT, get_settings

BIN = Path(sys.executable).parent
LOCATION_WORKSPACE = REPO_ROOT / "workspace.yaml"
SENSOR = "sparkify_log_sensor"


class LatencyError(RuntimeError):
    """The measurement could not be made (a run failed, the daemon died); the message says why."""


@dataclass
class Trial:
    day: str
    sensor_s: float
    queue_s: float
    run_s: float
    total_s: float
    rows: int


def _env(work: Path, interval: str) -> dict[str, str]:
    return {
        **os.environ,
        "MUSIC_DWH_RAW": str(work / "raw"),
        "MUSIC_DWH_WAREHOUSE": f"duckdb:///{work / 'warehouse.duckdb'}",
        "DAGSTER_HOME": str(work / "dagster"),
        "MUSIC_DWH_REPORTS": str(work / "reports"),
        "MUSIC_DWH_SENSOR_INTERVAL": interval,
        "DO_NOT_TRACK": "1",
        "GX_ANALYTICS_ENABLED": "false",
    }


def _run(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    proc = subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise LatencyError(
            f"`{' '.join(args)}` exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-3000:]}"
        )
    return proc.stdout


def _log_key(day: str) -> str:
    return f"sparkify/log_data/{day[:4]}/{day[5:7]}/{day}-events.json"


def _land(source: Path, target: Path) -> float:
    """Copy beside the target, then rename into place; returns the moment it landed."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.part")
    shutil.copyfile(source, partial)
    os.replace(partial, target)
    return time.time()


def _sensor_cursor(work: Path, env: dict[str, str]) -> str:
    """The log sensor's cursor for what the store holds now (the caught-up days), so its first
    tick requests nothing already loaded."""
    code = (
        "import sys; from dagster import build_sensor_context, DagsterInstance;"
        "from music_dwh.automation.sensors import sparkify_log_sensor;"
        "from music_dwh.definitions import defs;"
        "from music_dwh.resources.raw_store import open_raw_store;"
        f"d = sparkify_log_sensor.evaluate_tick(build_sensor_context(instance=DagsterInstance.ephemeral(),"
        f" repository_def=defs.get_repository_def(),"
        f" resources={{'raw_store': open_raw_store({str(work / 'raw')!r})}}));"
        "sys.stdout.write(d.cursor)"
    )
    proc = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if proc.returncode != 0:
        raise LatencyError(f"could not compute the sensor's cursor:\n{proc.stderr[-2000:]}")
    return proc.stdout.strip().splitlines()[-1]


def _wait_for_day(
    instance, day: str, landed: float, daemon: subprocess.Popen, timeout: float
) -> Trial:
    from dagster import AssetKey, DagsterEventType, DagsterRunStatus, RunsFilter

    deadline = time.monotonic() + timeout
    run = None
    while True:
        if daemon.poll() is not None:
            raise LatencyError("the Dagster daemon exited during the measurement")
        runs = instance.get_runs(
            RunsFilter(tags={"dagster/partition": day, "dagster/sensor_name": SENSOR}), limit=1
        )
        run = runs[0] if runs else None
        if run is not None and run.is_finished:
            break
        if time.monotonic() > deadline:
            raise LatencyError(
                f"no finished run for {day} after {timeout:.0f} s (latest: {run and run.status})"
            )
        time.sleep(0.2)
    if run.status != DagsterRunStatus.SUCCESS:
        raise LatencyError(
            f"the run for {day} ended {run.status.value}: see run {run.run_id} in the UI"
        )
    record = instance.get_run_record_by_id(run.run_id)
    created = record.create_timestamp.timestamp()
    started = record.start_time or created
    songplays = [
        e
        for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
        if e.dagster_event.asset_key == AssetKey(["sparkify", "songplays"])
    ]
    if not songplays:
        raise LatencyError(f"the run for {day} did not materialize sparkify/songplays")
    committed = songplays[0].timestamp
    return Trial(
        day, created - landed, started - created, committed - started, committed - landed, 0
    )


def measure(
    days: int = 3,
    events_per_day: int = 500,
    songs: int = 100,
    interval: str | None = None,
    work: Path | None = None,
    say=print,
) -> list[Trial]:
    """Measure ``days`` days, one after the other; returns one ``Trial`` per day."""
    import duckdb

    interval = interval or f"{get_settings().sensor_interval_seconds}s"
    own_work = work is None
    work = Path(tempfile.mkdtemp(prefix="music-dwh-latency-")) if own_work else Path(work)
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work, interval)
    incoming = work / "incoming"
    daemon = None
    try:
        say(
            f"generating {days + 1} days of {events_per_day} events and {songs} songs in {incoming}"
        )
        _run(
            env,
            "music-dwh",
            "generate",
            "sparkify",
            "--days",
            str(days + 1),
            "--events-per-day",
            str(events_per_day),
            "--songs",
            str(songs),
            "--out",
            str(incoming),
        )
        all_days = sorted(
            p.name[:10] for p in (incoming / "sparkify/log_data").rglob("*-events.json")
        )
        first, measured = all_days[0], all_days[1 : days + 1]
        shutil.copytree(incoming / "sparkify/song_data", work / "raw/sparkify/song_data")
        _land(incoming / _log_key(first), work / "raw" / _log_key(first))
        say(f"catching up: `music-dwh load sparkify` of the catalogue and {first}")
        _run(env, "music-dwh", "prepare")
        _run(env, "music-dwh", "load", "sparkify")
        cursor = _sensor_cursor(work, env)
        _run(
            env,
            "dagster",
            "sensor",
            "cursor",
            SENSOR,
            "-w",
            str(LOCATION_WORKSPACE),
            "--set",
            cursor,
        )
        _run(env, "dagster", "sensor", "start", SENSOR, "-w", str(LOCATION_WORKSPACE))
        with open(work / "daemon.log", "wb") as log:  # the child keeps its own descriptor
            daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", "-w", str(LOCATION_WORKSPACE)],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        say(f"daemon started (sensor interval {interval}); waiting for its first sensor tick")
        from dagster import DagsterInstance

        os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]
        instance = DagsterInstance.from_config(env["DAGSTER_HOME"])
        _wait_first_tick(instance, daemon, timeout=180)
        trials = []
        for day in measured:
            landed = _land(incoming / _log_key(day), work / "raw" / _log_key(day))
            trial = _wait_for_day(instance, day, landed, daemon, timeout=600)
            con = duckdb.connect(str(work / "warehouse.duckdb"), read_only=True)
            try:
                trial.rows = con.execute(
                    "select count(*) from sparkify.songplays where cast(start_time as date) = ?",
                    [dt.date.fromisoformat(day)],
                ).fetchone()[0]
            finally:
                con.close()
            if trial.rows == 0:
                raise LatencyError(f"{day}: its run succeeded but songplays has no row for it")
            say(
                f"{day}: {trial.total_s:5.1f} s landed → rows in songplays ({trial.rows:,} rows): "
                f"sensor {trial.sensor_s:.1f} s, queue {trial.queue_s:.1f} s, run {trial.run_s:.1f} s"
            )
            trials.append(trial)
        instance.dispose()
        return trials
    finally:
        if daemon is not None:
            from music_dwh.cli.supervisor import stop_group

            stop_group(daemon, grace_seconds=15)
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def _wait_first_tick(instance, daemon: subprocess.Popen, timeout: float) -> None:
    """Until the log sensor has ticked once (the daemon is up and its code location loaded)."""
    deadline = time.monotonic() + timeout
    while True:
        state = next((s for s in instance.all_instigator_state() if s.name == SENSOR), None)
        if state is not None and instance.get_ticks(
            state.instigator_origin_id, state.selector_id, limit=1
        ):
            return
        if daemon.poll() is not None:
            raise LatencyError("the Dagster daemon exited before its first sensor tick")
        if time.monotonic() > deadline:
            raise LatencyError(
                f"the sensor did not tick within {timeout:.0f} s of the daemon's start"
            )
        time.sleep(0.5)


def report(trials: list[Trial], interval: str) -> str:
    lines = [
        f"File landed → rows in sparkify.songplays, one day at a time, MUSIC_DWH_SENSOR_INTERVAL={interval}:",
        "",
        "| day | sensor | queue | run | total | rows |",
        "|---|---|---|---|---|---|",
    ]
    for t in trials:
        lines.append(
            f"| {t.day} | {t.sensor_s:.1f} s | {t.queue_s:.1f} s | {t.run_s:.1f} s | "
            f"**{t.total_s:.1f} s** | {t.rows:,} |"
        )
    totals = [t.total_s for t in trials]
    lines += [
        "",
        f"median {statistics.median(totals):.1f} s, max {max(totals):.1f} s over {len(trials)} day(s)",
    ]
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument(
        "--days", type=int, default=3, help="days measured, one after the other (default 3)"
    )
    parser.add_argument("--events-per-day", type=int, default=500, help="events in each day")
    parser.add_argument("--songs", type=int, default=100, help="songs in the catalogue")
    parser.add_argument(
        "--interval", help="sensor interval, e.g. 30s (default MUSIC_DWH_SENSOR_INTERVAL, 30 s)"
    )
    parser.add_argument(
        "--work", help="keep the workspace (raw store, warehouse, DAGSTER_HOME, daemon.log) here"
    )
    parser.add_argument("--json", action="store_true", help="print the trials as JSON too")


def main(args) -> int:
    interval = args.interval or f"{get_settings().sensor_interval_seconds}s"
    trials = measure(
        args.days, args.events_per_day, args.songs, interval, Path(args.work) if args.work else None
    )
    print(report(trials, interval))
    if args.json:
        print(json.dumps([t.__dict__ for t in trials]))
    return 0
