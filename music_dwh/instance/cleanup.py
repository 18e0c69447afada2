"""Dead runs are cleaned up, not waited for.

A run whose process died without finishing (``kill -9``, the OOM killer, a reboot) stays
STARTED in the instance and may keep concurrency-pool rows: the daemon's queue would wait for
it forever. ``reap_dead_runs`` marks such runs failed with the reason, frees their pool slots
and pending steps, and ends what is left of their process group (helper processes such as
Dagster's log capture, or any subprocess the run started, which could hold the DuckDB file).
``music-dwh load`` and ``prune`` call it (``clean_dead_runs``) before they start, ``load``
again while it waits and ``dev`` on its way out; the daemon's run monitoring does the same for
runs it launched (``launcher``).
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

from music_dwh.instance.liveness import TAG_PID, RunProcess, run_process

if TYPE_CHECKING:
    from dagster import DagsterInstance, DagsterRun


@dataclass(frozen=True)
class CleanedRun:
    run_id: str
    status: str  # what it was left in
    reason: str

    def describe(self) -> str:
        return f"run {self.run_id[:8]} (was {self.status}): {self.reason}"


def dead_reason(process: RunProcess) -> str:
    return f"{process.describe()} ended without finishing (killed or crashed)"


def end_process_group(process: RunProcess) -> int:
    """Kill what is left of a dead run's process group (it led its own group: ``music-dwh
    load`` starts its worker in a new session). A group id is not reused while any member
    lives, so every member found belongs to the dead run. Returns how many were ended."""
    if not process.on_this_host or not process.pgid or process.pgid != process.pid:
        return 0
    ended = 0
    for proc in psutil.process_iter():
        try:
            if os.getpgid(proc.pid) != process.pgid or proc.pid == os.getpid():
                continue
            proc.send_signal(signal.SIGKILL)
            ended += 1
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.AccessDenied, PermissionError):
            continue
    return ended


def mark_run_ended(
    instance: DagsterInstance, run: DagsterRun, message: str, *, canceled: bool = False
) -> None:
    """Record a run that is not running any more as canceled or failed, and free its slots."""
    if run.is_finished:
        free_slots(instance, run.run_id)
        return
    if canceled:
        instance.report_run_canceled(run, message)
    else:
        instance.report_run_failed(run, message)
    free_slots(instance, run.run_id)


def free_slots(instance: DagsterInstance, run_id: str) -> None:
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        storage.free_concurrency_slots_for_run(run_id)


def reap_dead_runs(instance: DagsterInstance) -> list[CleanedRun]:
    """Fail every in-progress run of this instance whose process is gone; free the pool
    slots of finished runs that still hold some. Runs waiting in the daemon's queue (no
    process yet) and runs on other hosts are left alone."""
    from dagster import DagsterRunStatus, RunsFilter

    cleaned: list[CleanedRun] = []
    statuses = [
        DagsterRunStatus.STARTED,
        DagsterRunStatus.STARTING,
        DagsterRunStatus.CANCELING,
        DagsterRunStatus.QUEUED,
        DagsterRunStatus.NOT_STARTED,
    ]
    for record in instance.get_run_records(filters=RunsFilter(statuses=statuses)):
        run = record.dagster_run
        queued = run.status in (DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED)
        if queued and TAG_PID not in run.tags:
            continue  # waits for the daemon, which has no process of its own to check
        process = run_process(instance, run)
        if process is None or process.is_alive():
            continue
        reason = dead_reason(process)
        leftovers = end_process_group(process)
        if leftovers:
            reason += f"; ended {leftovers} leftover process(es) of its group"
        mark_run_ended(
            instance,
            run,
            f"{reason}. music_dwh marked the run "
            f"{'canceled' if run.status == DagsterRunStatus.CANCELING else 'failed'} "
            "and freed its concurrency slots; its partitions are as they were (every write is "
            "one transaction). Re-run it to load its days.",
            canceled=run.status == DagsterRunStatus.CANCELING,
        )
        cleaned.append(CleanedRun(run.run_id, run.status.value, reason))

    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids()
        if holders:
            for record in instance.get_run_records(filters=RunsFilter(run_ids=list(holders))):
                if record.dagster_run.is_finished:
                    with contextlib.suppress(Exception):
                        free_slots(instance, record.dagster_run.run_id)
    return cleaned


def clean_dead_runs(instance: DagsterInstance, say: Callable[[str], None]) -> None:
    """``reap_dead_runs``, saying what it cleaned up."""
    for cleaned in reap_dead_runs(instance):
        say(f"cleaned up {cleaned.describe()}; marked failed, its pool slots freed")
