"""The daemon's run monitoring fails runs whose process died (music_dwh/instance/launcher.py and
the shipped dagster.yaml).

Fast tests: ``MonitoredRunLauncher.check_run_worker_health`` against a real Dagster instance
made from the shipped ``dagster.yaml`` in a temporary directory, with real processes standing
for run workers. The end-to-end test runs ``dagster dev`` (webserver and daemon, the shipped
``dagster.yaml`` unchanged): a sensor-launched run is killed with ``kill -9`` while the run
after it waits in the queue; the daemon fails the dead run, naming its process, and the queued
run then succeeds.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from dagster import DagsterEvent, DagsterEventType, DagsterInstance, DagsterRunStatus, job, op
from dagster._core.launcher.base import WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG

from music_dwh.instance.launcher import (
    MonitoredRunLauncher,
    PoolQueueRunCoordinator,
    ensure_pool_limits,
)
from music_dwh.instance.liveness import hostname, process_tags, run_process
from music_dwh_tests.conftest import BIN, REPO_ROOT, Workspace, free_port, query

SHIPPED_YAML = REPO_ROOT / "dagster.yaml"


@op
def noop() -> None:
    pass


@job
def a_job() -> None:
    noop()


@op(pool="duckdb")
def writes_duckdb() -> None:
    pass


@job
def a_pool_job() -> None:
    writes_duckdb()


@pytest.fixture
def instance(tmp_path: Path):
    shutil.copy(SHIPPED_YAML, tmp_path / "dagster.yaml")  # the file as shipped
    inst = DagsterInstance.from_config(str(tmp_path))
    try:
        yield inst
    finally:
        inst.dispose()


@pytest.fixture
def spawn():
    """Start ``sleep`` processes; every one still running is killed at the end."""
    procs: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(["sleep", "600"])
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def started_run(instance: DagsterInstance, pid: int, *, at: float | None = None, tags=None):
    """A run in STARTED whose RUN_START event names ``pid`` (as a launched run worker's does)."""
    run = instance.create_run_for_job(job_def=a_job, tags=tags or {})
    event = DagsterEvent(
        event_type_value=DagsterEventType.RUN_START.value, job_name=a_job.name, pid=pid
    )
    instance.report_dagster_event(event, run.run_id, timestamp=at)
    run = instance.get_run_by_id(run.run_id)
    assert run.status == DagsterRunStatus.STARTED
    return run


def kill(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait()


def test_the_shipped_dagster_yaml_turns_run_monitoring_on(instance):
    assert isinstance(instance.run_launcher, MonitoredRunLauncher)
    assert instance.run_launcher.supports_check_run_worker_health
    assert instance.run_monitoring_enabled
    assert instance.run_monitoring_poll_interval_seconds <= 10
    assert instance.run_monitoring_max_resume_run_attempts == 0
    assert "MONITORING" in instance.get_required_daemon_types()
    pools = instance.get_concurrency_config().pool_config
    assert pools.default_pool_limit == 1 and pools.pool_granularity.value == "run"
    assert isinstance(instance.run_coordinator, PoolQueueRunCoordinator)
    assert not instance.nux_enabled


def test_a_pool_gets_its_limit_before_its_first_run_is_queued(instance):
    """``PoolQueueRunCoordinator.submit_run`` does this before queueing a run (the end-to-end
    test below goes through it): without it the queue's first pass would not know the pool and
    would launch every run of it at once."""
    storage = instance.event_log_storage
    assert "duckdb" not in storage.get_concurrency_keys()  # a new instance
    assert ensure_pool_limits(instance, instance.create_run_for_job(job_def=a_job)) == []
    run = instance.create_run_for_job(job_def=a_pool_job)
    assert ensure_pool_limits(instance, run) == ["duckdb"]
    assert storage.get_concurrency_info("duckdb").slot_count == 1  # default_limit
    assert ensure_pool_limits(instance, run) == []


def test_a_live_worker_is_running_and_a_killed_one_failed_naming_its_process(instance, spawn):
    worker = spawn()
    run = started_run(instance, worker.pid)
    health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.RUNNING, health

    kill(worker)
    health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert health.msg.startswith(
        f"process {worker.pid} on host {hostname()} ended without finishing"
    )


def test_a_killed_worker_not_yet_reaped_by_its_parent_is_dead(instance, spawn):
    """A zombie (its parent, the code server, has not collected it yet) is not running."""
    worker = spawn()
    run = started_run(instance, worker.pid)
    worker.send_signal(signal.SIGKILL)  # not waited for: a zombie until the fixture reaps it
    deadline = time.monotonic() + 10
    while psutil.Process(worker.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.FAILED


def test_a_pid_now_held_by_a_process_younger_than_the_run_is_not_the_worker(instance, spawn):
    """The run started (its RUN_START event) a minute before the process now holding the pid
    was created: that process cannot be the run's worker, which is gone."""
    newcomer = spawn()
    run = started_run(instance, newcomer.pid, at=time.time() - 60)
    health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert f"process {newcomer.pid} " in health.msg
    assert newcomer.poll() is None  # the unrelated process is left alone


def test_a_run_without_a_process_yet_is_left_running(instance):
    run = instance.create_run_for_job(job_def=a_job)  # no RUN_START event yet
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_a_worker_on_another_code_server_host_is_not_judged_from_here(instance, spawn):
    """The pid of a run launched by a code server on another machine means nothing here."""
    worker = spawn()
    remote = {GRPC_INFO_TAG: json.dumps({"host": "code-server.internal", "port": 4000})}
    run = started_run(instance, worker.pid, tags=remote)
    kill(worker)
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING

    local = {GRPC_INFO_TAG: json.dumps({"host": "localhost", "socket": "/tmp/x.sock"})}
    worker = spawn()
    run = started_run(instance, worker.pid, tags=local)
    kill(worker)
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.FAILED


def test_a_death_its_code_server_records_is_not_failed_a_second_time(instance, spawn):
    """A launched worker's code server notices its death within half a second and fails the
    run; monitoring passing by in that moment must not add a second failure (alerts would go
    out twice). The daemon's own step (``monitor_started_run``) against the real instance, the
    code server played by a thread."""
    import logging
    import threading

    from dagster._daemon.monitoring.run_monitoring import monitor_started_run

    worker = spawn()
    local = {GRPC_INFO_TAG: json.dumps({"host": "localhost", "socket": "/tmp/x.sock"})}
    run = started_run(instance, worker.pid, tags=local)
    kill(worker)
    code_server = threading.Timer(
        0.5, lambda: instance.report_run_failed(run, "Run execution process exited")
    )
    code_server.start()
    try:
        record = instance.get_run_record_by_id(run.run_id)
        monitor_started_run(instance, None, record, logging.getLogger("test"))
    finally:
        code_server.join()
    failures = instance.all_logs(run.run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert [e.message for e in failures] == ["Run execution process exited"]


def test_a_music_dwh_load_run_is_judged_by_the_process_in_its_tags(instance, spawn):
    """``music-dwh load`` tags its run with its worker's pid, host and creation time."""
    worker = spawn()
    tags = process_tags("music-dwh load sparkify", worker.pid)
    run = started_run(instance, os.getpid(), tags=tags)
    assert run_process(instance, run).pid == worker.pid  # the tags win over the start event
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING
    kill(worker)
    health = instance.run_launcher.check_run_worker_health(run)
    assert health.status == WorkerStatus.FAILED
    assert health.msg.startswith(
        f"process {worker.pid} on host {hostname()} ended without finishing"
    )

    # A load on another machine (sharing a PostgreSQL-backed instance) is not judged from here.
    run = started_run(instance, os.getpid(), tags={**tags, "music_dwh/host": "another-host"})
    assert instance.run_launcher.check_run_worker_health(run).status == WorkerStatus.RUNNING


def test_a_dead_music_dwh_load_leaves_no_process_of_its_group_behind(instance):
    """Its worker leads a process group of its own (a dbt subprocess would be a member): once
    the leader is dead, the health check ends what is left of the group."""
    leader = subprocess.Popen(["sh", "-c", "sleep 600 & exec sleep 600"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not psutil.Process(leader.pid).children() and time.monotonic() < deadline:
            time.sleep(0.05)
        (leftover,) = [
            m for m in psutil.process_iter() if _group(m.pid) == leader.pid and m.pid != leader.pid
        ]
        run = started_run(
            instance, leader.pid, tags=process_tags("music-dwh load sparkify", leader.pid)
        )
        kill(leader)
        health = instance.run_launcher.check_run_worker_health(run)
        assert health.status == WorkerStatus.FAILED
        assert "ended 1 leftover process(es) of its group" in health.msg
        _, alive = psutil.wait_procs([leftover], timeout=10)  # SIGKILL is delivered asynchronously
        assert not alive
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
            leader.wait()


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


# ---------------------------------------------------------------------------- the daemon
LOCATION = "music_dwh.definitions"
SENSOR = {
    "repositoryLocationName": LOCATION,
    "repositoryName": "__repository__",
    "sensorName": "sparkify_log_sensor",
}
FIRST_DAY, DELIVERED = "2018-11-01", ("2018-11-02", "2018-11-03")


class Dev:
    """``dagster dev`` (webserver + daemon) on 127.0.0.1, in its own process group."""

    def __init__(self, ws: Workspace, log: Path):
        self.ws, self.log = ws, log
        self.url = f"http://127.0.0.1:{free_port()}"
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(
                [
                    str(BIN / "dagster"),
                    "dev",
                    "-w",
                    "workspace.yaml",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    self.url.rsplit(":", 1)[1],
                ],
                cwd=REPO_ROOT,
                env=ws.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def graphql(self, query_text: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query_text, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.graphql("{ assetNodes { id } }")["assetNodes"]:
                    return
            except (OSError, AssertionError):
                pass
            assert self.proc.poll() is None, f"dagster dev exited:\n{self.tail()}"
            assert time.monotonic() < deadline, f"dagster dev did not answer:\n{self.tail()}"
            time.sleep(1)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def stop(self) -> None:
        """dagster dev ignores signals sent to it alone from a script: end its whole group."""
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


def log_file(raw: Path, day: str) -> Path:
    return raw / "sparkify/log_data" / day[:4] / day[5:7] / f"{day}-events.json"


@pytest.fixture
def sensor_workspace(tmp_path: Path) -> Workspace:
    """Three generated days; the first loaded (with the song catalogue), two held back."""
    ws = Workspace(
        root=tmp_path,
        raw=tmp_path / "raw",
        warehouse=tmp_path / "warehouse.duckdb",
        dagster_home=tmp_path / "dagster",
    )
    ws.raw.mkdir()
    ws.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "3",
        "--events-per-day",
        "150",
        "--songs",
        "60",
        "--out",
        str(ws.raw),
    )
    ws.run("music-dwh", "prepare")  # gives DAGSTER_HOME the shipped dagster.yaml
    assert (ws.dagster_home / "dagster.yaml").read_text() == SHIPPED_YAML.read_text()
    (tmp_path / "incoming").mkdir()
    for day in DELIVERED:
        shutil.move(log_file(ws.raw, day), tmp_path / "incoming" / log_file(ws.raw, day).name)
    ws.run(
        "dagster",
        "asset",
        "materialize",
        "-m",
        LOCATION,
        "--select",
        "group:sparkify",
        "--partition",
        FIRST_DAY,
    )
    return ws


def _runs(instance: DagsterInstance) -> dict[str, object]:
    """The sensor's runs by day."""
    return {
        r.tags["dagster/partition"]: r
        for r in instance.get_runs()
        if r.tags.get("dagster/sensor_name") == "sparkify_log_sensor"
    }


def _wait(what: str, condition, timeout: float, dev: Dev, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not after {timeout} s\n{dev.tail()}"
        time.sleep(interval)


@pytest.mark.e2e
def test_a_sensor_run_killed_with_kill_9_does_not_block_the_next_sensor_run(
    sensor_workspace, tmp_path
):
    from dagster import build_sensor_context

    from music_dwh.automation.sensors import sparkify_log_sensor
    from music_dwh.definitions import defs
    from music_dwh.resources.raw_store import open_raw_store
    from music_dwh.resources.writer_lock import exclusive_writer

    ws = sensor_workspace
    instance = DagsterInstance.from_config(str(ws.dagster_home))
    poll = instance.run_monitoring_poll_interval_seconds
    dev = Dev(ws, tmp_path / "dagster-dev.log")
    frozen: psutil.Process | None = None
    try:
        dev.wait_until_up()
        # The sensor starts from what is in the store (the first day, loaded above).
        data = sparkify_log_sensor.evaluate_tick(
            build_sensor_context(
                repository_def=defs.get_repository_def(),
                resources={"raw_store": open_raw_store(str(ws.raw))},
            )
        )
        dev.graphql(
            """mutation($s: SensorSelector!, $c: String) { setSensorCursor(sensorSelector: $s,
                       cursor: $c) { __typename } }""",
            {"s": SENSOR, "c": data.cursor},
        )

        # The test holds the warehouse's writer lock, so the first run launched waits for it,
        # STARTED, as long as the test likes. Two days are delivered: two runs; the queue
        # launches one, the other waits in the queue (the "duckdb" pool, run granularity).
        with exclusive_writer(ws.warehouse, timeout=5, say=print, command="the test"):
            for day in DELIVERED:
                shutil.copy(
                    tmp_path / "incoming" / log_file(ws.raw, day).name, log_file(ws.raw, day)
                )
            dev.graphql(
                """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
                           __typename } }""",
                {"s": SENSOR},
            )
            runs = _wait(
                "two sensor runs, one STARTED",
                lambda: (
                    (r := _runs(instance))
                    and len(r) == 2
                    and sorted(x.status.value for x in r.values()) == ["QUEUED", "STARTED"]
                    and r
                ),
                timeout=180,
                dev=dev,
            )
            victim = next(r for r in runs.values() if r.status == DagsterRunStatus.STARTED)
            waiting = next(r for r in runs.values() if r.status == DagsterRunStatus.QUEUED)
            worker = _wait("the run's worker", lambda: run_process(instance, victim), 60, dev)
            # A live run is never failed by monitoring, and the other run stays queued.
            time.sleep(poll + 5)
            assert instance.get_run_by_id(victim.run_id).status == DagsterRunStatus.STARTED
            assert instance.get_run_by_id(waiting.run_id).status == DagsterRunStatus.QUEUED

            # kill -9 the worker and its children. Its parent, the code server, would notice
            # its child's exit by itself within a second; it is frozen meanwhile (as if it had
            # died with the worker, or the machine had rebooted): the daemon must notice. The
            # freeze stays shorter than the code server's 30-s heartbeat timeout.
            process = psutil.Process(worker.pid)
            children = process.children(recursive=True)
            frozen = process.parent()
            assert "grpc" in frozen.cmdline(), frozen.cmdline()  # `dagster api grpc`
            frozen.suspend()
            killed_at = time.monotonic()
            process.kill()
            for child in children:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        # The test's lock is released here; the dead worker's writer lock, had it taken it,
        # would have been released by the kernel.

        failed = _wait(
            "the killed run failed",
            lambda: (
                (r := instance.get_run_by_id(victim.run_id)).status != DagsterRunStatus.STARTED
                and r
            ),
            timeout=poll + 15,
            dev=dev,
            interval=0.1,
        )
        detected = time.monotonic() - killed_at
        frozen.resume()
        frozen = None
        print(f"killed run failed {detected:.1f} s after kill -9 (poll_interval_seconds={poll})")
        assert failed.status == DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(victim.run_id)]
        assert any(
            f"process {worker.pid} on host {hostname()} ended without finishing" in m
            for m in messages
        ), messages[-5:]

        # The queued run is launched and succeeds.
        done = _wait(
            "the queued run finished",
            lambda: (r := instance.get_run_by_id(waiting.run_id)).is_finished and r,
            timeout=300,
            dev=dev,
            interval=2,
        )
        assert done.status == DagsterRunStatus.SUCCESS, dev.tail()
        day = done.tags["dagster/partition"]
        plays = query(
            ws.warehouse,
            "select count(*) from sparkify.songplays where start_time::date = ?",
            [day],
        )
        assert plays[0][0] > 0
    finally:
        if frozen is not None:
            frozen.resume()
        dev.stop()
        instance.dispose()
