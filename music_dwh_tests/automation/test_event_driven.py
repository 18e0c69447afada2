"""Event-driven loading from an empty warehouse: files in any order, no failed run, no alert.

End to end with the real daemon (``dagster dev`` from ``workspace.yaml``, the shipped
``dagster.yaml``: run queue, ``duckdb`` pool, run retries) and real files: every raw-store
sensor is switched on over an empty raw store and an empty DuckDB warehouse, then files are
delivered step by step in different orders. After every step the test waits until the daemon
has settled (no run queued or in progress for a while). At the end:

* no run failed for good (an attempt Dagster's run retries repeat must have a successful retry);
* no alert reached the webhook (a real HTTP server in the test);
* every table of the system equals, row for row (``loaded_at`` aside), what one
  ``music-dwh load`` builds from the same files.

Sparkify: five days of the public sample (skipped, with the reason, without ../shared/data)
delivered catalogue first; two log days, then the catalogue, then the rest; interleaved.
Chinook (generated store): invoice days before the reference snapshots, a snapshot re-delivered
between days. The sensors tick every 2 s here (``MUSIC_DWH_SENSOR_INTERVAL``).

Also, without the daemon: a catalogue-only and a reference-only run (``dagster asset
materialize`` of the snapshot and everything unpartitioned built from it) on an empty warehouse
succeed and leave every table of the system in place, empty where nothing was loaded.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import AssetKey, AssetSelection, DagsterInstance, DagsterRunStatus

from music_dwh_tests.conftest import Workspace, query, require_shared, snapshot, spoil_log_day
from music_dwh_tests.instance.test_launcher import Dev

pytestmark = pytest.mark.e2e

INTERVAL = "2s"
RAW_SENSORS = (
    "sparkify_log_sensor",
    "sparkify_song_catalogue_sensor",
    "chinook_reference_sensor",
    "chinook_invoice_sensor",
)
SPARKIFY_DAYS = ["2018-11-01", "2018-11-02", "2018-11-03", "2018-11-04", "2018-11-05"]
IN_PROGRESS = {
    DagsterRunStatus.QUEUED,
    DagsterRunStatus.NOT_STARTED,
    DagsterRunStatus.STARTING,
    DagsterRunStatus.STARTED,
    DagsterRunStatus.CANCELING,
}
# Long enough for every sensor (2 s), the alert sensors and the automation sensor (2 s here) to
# have ticked again after the last run ended, so nothing they would request is missed.
QUIET_SECONDS = 10


# ---------------------------------------------------------------------------- helpers
class AlertReceiver:
    """A webhook on 127.0.0.1 that keeps every alert POSTed to it."""

    def __init__(self) -> None:
        alerts = self.alerts = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                alerts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def new_workspace(root: Path) -> Workspace:
    ws = Workspace(
        root=root,
        raw=root / "raw",
        warehouse=root / "warehouse.duckdb",
        dagster_home=root / "dagster",
    )
    ws.raw.mkdir(parents=True)
    return ws


class Daemon:
    """``dagster dev`` over an empty warehouse with every raw-store sensor on."""

    def __init__(self, ws: Workspace, alerts: AlertReceiver, env: dict[str, str] | None = None):
        self.ws = ws
        env = {
            **ws.env,
            "MUSIC_DWH_SENSOR_INTERVAL": INTERVAL,
            "MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL": INTERVAL,
            "MUSIC_DWH_ALERT_WEBHOOK": alerts.url,
            **(env or {}),
        }
        ws.run("music-dwh", "prepare")  # the shipped dagster.yaml into DAGSTER_HOME
        self.dev = _dev_with_env(ws, env)
        self.instance = DagsterInstance.from_config(str(ws.dagster_home))

    def start(self) -> None:
        self.dev.wait_until_up()
        for name in RAW_SENSORS:
            self.dev.graphql(
                """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) { __typename } }""",
                {
                    "s": {
                        "repositoryLocationName": "music_dwh.definitions",
                        "repositoryName": "__repository__",
                        "sensorName": name,
                    }
                },
            )

    def runs(self):
        return self.instance.get_runs()

    def last_ticks(self) -> dict[str, float]:
        """Each raw-store sensor's latest tick (its start time), 0 before the first."""
        from dagster._core.scheduler.instigation import InstigatorType

        ticks = {}
        for state in self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
            if state.name in RAW_SENSORS:
                latest = self.instance.get_ticks(
                    state.instigator_origin_id, state.selector_id, limit=1
                )
                ticks[state.name] = latest[0].timestamp if latest else 0.0
        return ticks

    def settle(self, timeout: float = 600) -> None:
        """Wait until every raw-store sensor has ticked since now (it has seen the files just
        delivered) and then no run has been queued or in progress for QUIET_SECONDS."""
        delivered = time.time()
        deadline = time.monotonic() + timeout
        quiet_since = None
        while True:
            ticks = self.last_ticks()
            seen = len(ticks) == len(RAW_SENSORS) and min(ticks.values()) > delivered
            busy = [r for r in self.runs() if r.status in IN_PROGRESS]
            now = time.monotonic()
            if busy or not seen:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = now
            elif now - quiet_since >= QUIET_SECONDS:
                return
            assert self.dev.proc.poll() is None, f"dagster dev exited:\n{self.dev.tail()}"
            assert now < deadline, (
                f"not settled after {timeout} s: sensors ticked at {ticks} (files at {delivered}), "
                f"runs in progress {busy}\n{self.dev.tail()}"
            )
            time.sleep(1)

    def stop(self) -> None:
        self.dev.stop()
        self.instance.dispose()


def _dev_with_env(ws: Workspace, env: dict[str, str]) -> Dev:
    """``Dev`` (music_dwh_tests/instance/test_launcher.py) started with ``env``."""

    class _Ws(Workspace):
        @property
        def env(self) -> dict[str, str]:
            return env

    return Dev(_Ws(ws.root, ws.raw, ws.warehouse, ws.dagster_home), ws.root / "dagster-dev.log")


def assert_no_failure_left(daemon: Daemon) -> None:
    """Every failed run is an attempt that a later attempt of the same run group fixed."""
    runs = daemon.runs()
    assert runs, "the sensors requested no run"
    for run in runs:
        if run.status != DagsterRunStatus.FAILURE:
            continue
        root = run.tags.get("dagster/root_run_id", run.run_id)
        group = [r for r in runs if r.run_id == root or r.tags.get("dagster/root_run_id") == root]
        assert any(r.status == DagsterRunStatus.SUCCESS for r in group), (
            f"run {run.run_id} ({run.tags}) failed and no retry succeeded:\n"
            + "\n".join(e.message for e in daemon.instance.all_logs(run.run_id) if e.message)[
                -3000:
            ]
        )
    assert all(
        r.status == DagsterRunStatus.SUCCESS for r in runs if r.status != DagsterRunStatus.FAILURE
    ), [(r.run_id, r.status) for r in runs]


def assert_tables_equal(actual: Path, expected: Path, schema: str) -> None:
    got, want = snapshot(actual, schema), snapshot(expected, schema)
    assert sorted(got) == sorted(want), f"tables differ: {sorted(set(got) ^ set(want))}"
    different = [t for t in want if got[t] != want[t]]
    assert not different, {t: (len(got[t]), len(want[t])) for t in different}


# ---------------------------------------------------------------------------- Sparkify
def sparkify_files(sample: Path) -> dict[str, list[Path]]:
    """Relative paths of the catalogue and of each of the five log days."""
    files = {
        "catalogue": sorted(
            p.relative_to(sample.parent) for p in (sample / "song_data").rglob("*.json")
        )
    }
    for day in SPARKIFY_DAYS:
        files[day] = [Path(f"sparkify/log_data/{day[:4]}/{day[5:7]}/{day}-events.json")]
    return files


def deliver(source_root: Path, raw: Path, paths: list[Path]) -> None:
    """Land files the way a producer does: written beside, then renamed into place."""
    for rel in paths:
        target = raw / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        shutil.copyfile(source_root / rel, partial)
        os.replace(partial, target)


@pytest.fixture(scope="module")
def sparkify_sample() -> Path:
    return require_shared("sparkify")


@pytest.fixture(scope="module")
def sparkify_expected(sparkify_sample: Path, tmp_path_factory) -> Path:
    """One `music-dwh load sparkify` of the catalogue and the five days."""
    ws = new_workspace(tmp_path_factory.mktemp("sparkify-load"))
    files = sparkify_files(sparkify_sample)
    deliver(sparkify_sample.parent, ws.raw, [p for paths in files.values() for p in paths])
    ws.run("music-dwh", "load", "sparkify")
    return ws.warehouse


SPARKIFY_ORDERS = {
    "catalogue_first": [["catalogue"], SPARKIFY_DAYS],
    "two_days_then_catalogue_then_the_rest": [SPARKIFY_DAYS[:2], ["catalogue"], SPARKIFY_DAYS[2:]],
    "interleaved": [
        [SPARKIFY_DAYS[2]],
        [SPARKIFY_DAYS[0], "catalogue"],
        [SPARKIFY_DAYS[4]],
        [SPARKIFY_DAYS[1], SPARKIFY_DAYS[3]],
    ],
}


@pytest.mark.parametrize("order", list(SPARKIFY_ORDERS))
def test_sparkify_files_in_any_order_end_as_one_load_of_them(
    order, sparkify_sample, sparkify_expected, tmp_path
):
    files = sparkify_files(sparkify_sample)
    ws = new_workspace(tmp_path)
    alerts = AlertReceiver()
    daemon = Daemon(ws, alerts)
    try:
        daemon.start()
        for step in SPARKIFY_ORDERS[order]:
            deliver(sparkify_sample.parent, ws.raw, [p for name in step for p in files[name]])
            daemon.settle()
        assert_no_failure_left(daemon)
        assert alerts.alerts == []
        assert_tables_equal(ws.warehouse, sparkify_expected, "sparkify")
        # Not vacuous: the days and the catalogue are there (the public sample's first days
        # match no catalogue song: an unmatched play is still a play).
        assert query(ws.warehouse, "select count(*) from sparkify.songplays")[0][0] > 0
        assert query(ws.warehouse, "select count(*) from sparkify.songs")[0][0] > 0
    finally:
        daemon.stop()
        alerts.close()


# ---------------------------------------------------------------------------- Chinook
@pytest.fixture(scope="module")
def chinook_source(tmp_path_factory) -> Path:
    """A generated store: reference snapshots and five invoice days."""
    ws = new_workspace(tmp_path_factory.mktemp("chinook-source"))
    ws.run(
        "music-dwh",
        "generate",
        "chinook",
        "--start",
        "2021-01-01",
        "--days",
        "5",
        "--customers",
        "40",
        "--invoices-per-day",
        "4",
        "--out",
        str(ws.raw),
    )
    return ws.raw


def chinook_files(raw: Path) -> dict[str, list[Path]]:
    files = {
        "reference": sorted(p.relative_to(raw) for p in (raw / "chinook/reference").glob("*.csv"))
    }
    for folder in sorted((raw / "chinook/invoices").glob("*/*/*")):
        files["-".join(folder.parts[-3:])] = sorted(
            p.relative_to(raw) for p in folder.glob("*.csv")
        )
    return files


@pytest.fixture(scope="module")
def chinook_expected(chinook_source: Path, tmp_path_factory) -> Path:
    ws = new_workspace(tmp_path_factory.mktemp("chinook-load"))
    deliver(
        chinook_source,
        ws.raw,
        [p for paths in chinook_files(chinook_source).values() for p in paths],
    )
    ws.run("music-dwh", "load", "chinook")
    return ws.warehouse


def test_chinook_invoices_before_the_reference_snapshots_end_as_one_load_of_them(
    chinook_source, chinook_expected, tmp_path
):
    files = chinook_files(chinook_source)
    days = sorted(k for k in files if k != "reference")
    assert len(days) >= 4, files.keys()
    ws = new_workspace(tmp_path)
    alerts = AlertReceiver()
    daemon = Daemon(ws, alerts)
    try:
        daemon.start()
        # Two invoice days with no reference snapshot in the warehouse: staged later, not failed.
        deliver(chinook_source, ws.raw, [p for d in days[:2] for p in files[d]])
        daemon.settle()
        assert query(ws.warehouse, "select count(*) from chinook.staging_invoice")[0][0] == 0
        deliver(chinook_source, ws.raw, files["reference"])
        daemon.settle()
        assert query(ws.warehouse, "select count(*) from chinook.fact_invoice")[0][0] > 0
        deliver(chinook_source, ws.raw, files[days[2]])
        daemon.settle()
        # The track and customer snapshots re-delivered (same content, a new version) between days.
        for rel in files["reference"]:
            if rel.stem in ("track", "customer"):
                deliver(chinook_source, ws.raw, [rel])
        deliver(chinook_source, ws.raw, [p for d in days[3:] for p in files[d]])
        daemon.settle()
        assert_no_failure_left(daemon)
        assert alerts.alerts == []
        assert_tables_equal(ws.warehouse, chinook_expected, "chinook")
    finally:
        daemon.stop()
        alerts.close()


# ---------------------------------------------------------------------------- a failed day
def test_a_day_over_the_quarantine_threshold_runs_once_and_alerts_once(tmp_path):
    """A data failure is final: the sensor's run fails in its staging step, no retry run
    follows, and one alert names that step, its asset and the first line of the error."""
    ui = "http://dagster.example.org:3001"
    day = "2018-11-01"
    source = tmp_path / "source"
    ws = new_workspace(tmp_path / "ws")
    ws.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "1",
        "--events-per-day",
        "50",
        "--songs",
        "10",
        "--out",
        str(source),
    )
    bad = spoil_log_day(source, day)
    alerts = AlertReceiver()
    daemon = Daemon(ws, alerts, {"MUSIC_DWH_UI_URL": ui})
    try:
        daemon.start()
        deliver(source, ws.raw, [bad.relative_to(source)])
        daemon.settle()
        deadline = time.monotonic() + 60  # the alert sensor ticks every 2 s here
        while not alerts.alerts and time.monotonic() < deadline:
            time.sleep(1)
        (run,) = daemon.runs()  # one attempt: no retry run
        assert run.status == DagsterRunStatus.FAILURE
        assert run.tags["dagster/partition"] == day
        assert run.tags["dagster/will_retry"] == "false"
        (failure,) = [
            e.dagster_event.step_failure_data
            for e in daemon.instance.all_logs(run.run_id)
            if e.dagster_event and e.dagster_event.is_step_failure
        ]
        description = failure.user_failure_data.description
        (alert,) = alerts.alerts
    finally:
        daemon.stop()
        alerts.close()
    assert alert["failed_steps"] == ["sparkify__staging_events"]
    assert alert["asset"] == "sparkify/staging_events"
    assert alert["partition"] == day
    assert alert["error"] == description.splitlines()[0]
    assert "MUSIC_DWH_QUARANTINE_THRESHOLD" in description
    assert "dagster._" not in json.dumps(alert)
    assert alert["link"] == f"{ui}/runs/{run.run_id}"


# ---------------------------------------------------------------------------- snapshot-only runs
def _snapshot_only_selection(system: str, root: str) -> list[str]:
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = (
        AssetSelection.assets(AssetKey(root.split("/"))).downstream()
        & AssetSelection.groups(system)
    ).resolve(graph)
    return sorted(k.to_user_string() for k in keys if graph.get(k).partitions_def is None)


@pytest.mark.parametrize("system", ["sparkify", "chinook"])
def test_a_snapshot_only_run_on_an_empty_warehouse_succeeds(system, chinook_source, tmp_path):
    ws = new_workspace(tmp_path)
    if system == "sparkify":
        sample = require_shared("sparkify")
        deliver(sample.parent, ws.raw, sparkify_files(sample)["catalogue"])
        root, loaded, empty = "sparkify/song_data", "songs", "songplays"
    else:
        deliver(chinook_source, ws.raw, chinook_files(chinook_source)["reference"])
        root, loaded, empty = "chinook/reference_files", "dim_track", "fact_invoice"
    ws.run("music-dwh", "prepare")
    selection = _snapshot_only_selection(system, root)
    ws.run(
        "dagster",
        "asset",
        "materialize",
        "-m",
        "music_dwh.definitions",
        "--select",
        ",".join(selection),
    )
    assert query(ws.warehouse, f"select count(*) from {system}.{loaded}")[0][0] > 0
    # Every staging table of the system and its quarantine exist (the day's ones empty), and
    # every table the run built or read: the daily facts the marts read, empty.
    tables = snapshot(ws.warehouse, system)
    assert tables[empty] == []
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    staging = {
        k.path[-1]
        for k in AssetSelection.groups(system).resolve(graph)
        if graph.get(k).tags.get("layer") == "staging"
    }
    built = {
        k.split("/")[-1]
        for k in selection
        if graph.get(AssetKey(k.split("/"))).tags.get("layer") != "report"
    }
    expected = (
        staging | {"quarantine"} | {k for k in built if k not in ("song_data", "reference_files")}
    )
    assert expected <= set(tables), expected - set(tables)
