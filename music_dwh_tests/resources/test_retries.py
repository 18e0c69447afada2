"""Retries only where a retry can help (music_dwh/resources/retries.py): real runs of the Sparkify
staging assets in this process, on a real DuckDB file and a real Dagster instance.

A step that meets the warehouse file held by another program past ``MUSIC_DWH_LOCK_TIMEOUT``
is retried inside its run and the run succeeds once the file is free; a day over the
quarantine threshold fails its step once, with no retry.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
from dagster import DagsterEventType, Failure, materialize
from dagster._core.test_utils import instance_for_test

from music_dwh.resources.base import WarehouseError, WarehouseUnavailable
from music_dwh.resources.postgres import PostgresSession
from music_dwh.resources.retries import RETRY_DELAYS_SECONDS, is_transient, retried_when_transient
from music_dwh.resources.writer_lock import LockTimeout
from music_dwh.settings import parse_warehouse_url
from music_dwh.staging.common import LoadStats, QuarantineThresholdExceeded, Rejected
from music_dwh_tests.conftest import Workspace, free_port, query, spoil_log_day

DAY = "2018-11-01"
STEP = "sparkify__staging_events"


@pytest.fixture
def one_day(workspace: Workspace) -> Workspace:
    workspace.run(
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
        str(workspace.raw),
    )
    return workspace


def run_staging(ws: Workspace, instance, tags: dict[str, str] | None = None):
    """The day's raw and staging assets as one run (in-process, as every run of music_dwh)."""
    from music_dwh.assets.sparkify import log_data, staging_events
    from music_dwh.resources.raw_store import RawStore
    from music_dwh.resources.warehouse import Warehouse

    return materialize(
        [log_data, staging_events],
        partition_key=DAY,
        instance=instance,
        resources={
            "raw_store": RawStore(location=str(ws.raw)),
            "warehouse": Warehouse(url=ws.warehouse_url),
        },
        raise_on_error=False,
        tags=tags,
    )


def step_events(instance, run_id: str, event_type: DagsterEventType) -> list[str]:
    return [e.step_key for e in instance.all_logs(run_id, of_type=event_type)]


class FileHolder:
    """Another program with the DuckDB file open (a notebook, the duckdb shell): a plain
    connection in a subprocess, held until :meth:`release`."""

    def __init__(self, path):
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys\n"
                "con = duckdb.connect(sys.argv[1])\n"
                "print('held', flush=True)\n"
                "sys.stdin.read()\n",
                str(path),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout.readline().strip() == "held"

    def release(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)

    def release_when_a_step_is_up_for_retry(self, instance) -> threading.Thread:
        def watch() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                if any(
                    step_events(instance, run.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
                    for run in instance.get_runs()
                ):
                    break
                time.sleep(0.1)
            self.release()

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return thread


def test_a_run_that_asks_for_no_retries_fails_at_once_on_a_held_file(one_day, monkeypatch):
    """`music-dwh load` tags its runs dagster/max_retries=0: its user waits
    MUSIC_DWH_LOCK_TIMEOUT, not three times that."""
    monkeypatch.setenv("MUSIC_DWH_LOCK_TIMEOUT", "1s")
    holder = FileHolder(one_day.warehouse)
    try:
        with instance_for_test() as instance:
            result = run_staging(one_day, instance, tags={"dagster/max_retries": "0"})
            retried = step_events(instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
            failed = step_events(instance, result.run_id, DagsterEventType.STEP_FAILURE)
    finally:
        holder.release()
    assert not result.success
    assert retried == [] and failed == [STEP]


def test_a_step_that_meets_a_held_warehouse_file_is_retried_and_the_run_succeeds(
    one_day, monkeypatch
):
    monkeypatch.setenv("MUSIC_DWH_LOCK_TIMEOUT", "1s")
    holder = FileHolder(one_day.warehouse)
    try:
        with instance_for_test() as instance:
            watcher = holder.release_when_a_step_is_up_for_retry(instance)
            result = run_staging(one_day, instance)
            watcher.join(timeout=30)
            retried = step_events(instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
            warnings = [
                e.user_message
                for e in instance.all_logs(result.run_id)
                if e.step_key == STEP and e.level == 30 and "retrying" in e.user_message
            ]
    finally:
        holder.release()
    assert result.success
    assert retried == [STEP]  # once: the second attempt found the file free
    (warning,) = warnings
    assert warning.splitlines()[0].startswith(
        f"retrying the step in {RETRY_DELAYS_SECONDS[0]} s (retry 1 of "
        f"{len(RETRY_DELAYS_SECONDS)}): gave up after 1 s waiting for the DuckDB warehouse "
        f"{one_day.warehouse}: process {holder.proc.pid} "
    )
    assert query(one_day.warehouse, "select count(*) from sparkify.staging_events")[0][0] > 0


def test_a_day_over_the_quarantine_threshold_fails_once_without_a_retry(one_day):
    spoil_log_day(one_day.raw, DAY)
    with instance_for_test() as instance:
        result = run_staging(one_day, instance)
        failed = step_events(instance, result.run_id, DagsterEventType.STEP_FAILURE)
        retried = step_events(instance, result.run_id, DagsterEventType.STEP_UP_FOR_RETRY)
        restarted = step_events(instance, result.run_id, DagsterEventType.STEP_RESTARTED)
    assert not result.success
    assert failed == [STEP]
    assert retried == restarted == []


def test_only_a_warehouse_unavailable_for_now_is_transient():
    port = free_port()  # nothing listens there
    target = parse_warehouse_url(f"postgresql://etl@127.0.0.1:{port}/dwh")
    with pytest.raises(WarehouseUnavailable) as refused:
        PostgresSession.connect(target, None)
    assert str(refused.value).startswith(f"cannot reach the warehouse at 127.0.0.1:{port} (")
    assert is_transient(refused.value)
    assert is_transient(LockTimeout("gave up after 600 s waiting for the warehouse"))
    import psycopg2

    assert is_transient(psycopg2.OperationalError("server closed the connection unexpectedly"))
    # Data failures and mistakes would fail the same way again.
    over = LoadStats("staging_events", None, records=10, rejected=[Rejected("f", 1, "", "bad")] * 9)
    assert not is_transient(QuarantineThresholdExceeded(over, 0.05))
    assert not is_transient(Failure(description="dbt build failed"))
    assert not is_transient(WarehouseError("table sparkify.songs has columns [...]"))


def test_outside_a_step_a_transient_failure_passes_through_unchanged():
    error = LockTimeout("gave up after 1 s waiting for the warehouse")
    with pytest.raises(LockTimeout) as raised, retried_when_transient():
        raise error
    assert raised.value is error
