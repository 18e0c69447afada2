"""How the daemon queues and launches runs; both classes are named in the shipped ``dagster.yaml``.

``MonitoredRunLauncher``: Dagster's default launcher, plus a health check so the daemon's run
monitoring can tell that a run's process died.

Dagster's ``DefaultRunLauncher`` cannot check a run worker (``supports_check_run_worker_health``
is False), so run monitoring alone never fails a run left ``STARTED`` by a process that is gone
(``kill -9`` of the worker together with its code server, the OOM killer, ``dagster dev`` or the
machine killed while a run executed). With this launcher, every ``poll_interval_seconds`` the
monitoring daemon asks about each ``STARTED`` run, whoever started it (the UI, a sensor, a
schedule or ``music-dwh load``), and fails the ones whose process is gone. Their warehouse
writer lock died with them; the queue then launches the next run that uses the pool.

``PoolQueueRunCoordinator``: Dagster's queue, which makes sure a run's pools have their limit
row before the run is queued. With ``granularity: run`` no step ever claims a slot, so nothing
else creates it, and Dagster 1.13's queue creates it only during the pass that first sees the
pool, after reading the limits: that pass launches every queued run of the pool at once (on a
new instance, a sensor's first tick over a week of files would start seven runs together).
"""

from __future__ import annotations

import dataclasses
import json
import time

from dagster import DefaultRunLauncher, QueuedRunCoordinator, SubmitRunContext

from music_dwh.framework import (
    GRPC_INFO_TAG,
    CheckRunHealthResult,
    SqliteRunStorage,
    WorkerStatus,
)
from music_dwh.instance.cleanup import dead_reason, end_process_group
from music_dwh.instance.liveness import TAG_HOST, hostname, run_process

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", ""}
_CODE_SERVER_GRACE_SECONDS = 1.5  # Dagster's code server checks its run workers every 0.5 s


def _runs_on_this_host(instance, run) -> bool:
    """Whether a run without host tags ran on this machine. A launched run's worker runs beside
    the code server that started it (its address is on the run). Any other run ran in the
    process that created it (``dagster asset materialize``, a script): on this machine for
    sure only when the instance is SQLite files, which machines do not share."""
    if GRPC_INFO_TAG in run.tags:
        try:
            host = json.loads(run.tags[GRPC_INFO_TAG]).get("host") or ""
        except ValueError:
            return False
        return host in _LOCAL_HOSTS or host == hostname()
    return isinstance(instance.run_storage, SqliteRunStorage)


class MonitoredRunLauncher(DefaultRunLauncher):
    """Launches runs like ``DefaultRunLauncher``; judges a run alive by its process."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run) -> CheckRunHealthResult:
        process = run_process(self._instance, run)
        if process is None:
            # STARTED, but its start event (with the worker's pid) is not written yet.
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no process recorded yet")
        if TAG_HOST not in run.tags:
            if not _runs_on_this_host(self._instance, run):
                # A pid from another machine says nothing here.
                return CheckRunHealthResult(
                    WorkerStatus.RUNNING, f"{process.describe()} runs on another host"
                )
            process = dataclasses.replace(process, host=hostname())
        if not process.on_this_host:
            return CheckRunHealthResult(
                WorkerStatus.RUNNING, f"{process.describe()} cannot be checked from this host"
            )
        if process.is_alive():
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"{process.describe()} is running")
        if GRPC_INFO_TAG in run.tags:
            # A code server still alive records its worker's death itself within half a
            # second; give it that, and the daemon, seeing the run ended, will not fail it twice.
            time.sleep(_CODE_SERVER_GRACE_SECONDS)
        message = dead_reason(process)
        # A dead `music-dwh load` may leave its process group behind (helper processes, any
        # subprocess that could hold the DuckDB file): end it. Runs without a recorded group
        # are left alone.
        leftovers = end_process_group(process)
        if leftovers:
            message += f"; ended {leftovers} leftover process(es) of its group"
        return CheckRunHealthResult(WorkerStatus.FAILED, message, run_worker_id=str(process.pid))


class PoolQueueRunCoordinator(QueuedRunCoordinator):
    """Dagster's run queue; a run's pools get their default limit before it is queued."""

    def submit_run(self, context: SubmitRunContext):
        ensure_pool_limits(self._instance, context.dagster_run)
        return super().submit_run(context)


def ensure_pool_limits(instance, run) -> list[str]:
    """Give each pool the run uses and the instance does not know yet the default limit
    (``concurrency: pools: default_limit``). Returns the pools it created."""
    storage = instance.event_log_storage
    pools = set(run.run_op_concurrency.all_pools or ()) if run.run_op_concurrency else set()
    if not pools or not storage.supports_global_concurrency_limits:
        return []
    if instance.global_op_concurrency_default_limit is None:
        return []
    missing = sorted(pools - set(storage.get_concurrency_keys()))
    for pool in missing:
        storage.initialize_concurrency_limit_to_default(pool)
    return missing
