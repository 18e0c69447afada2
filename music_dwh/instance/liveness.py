"""Which process executes a run, and whether it still lives.

A run records its process as tags (``music-dwh load`` sets them when it creates the run). A
run launched by the daemon has no such tags: its worker's pid is on its ``RUN_START`` event.
A pid alone is not an identity (pids are reused), so a process counts as the run's only if it
was created no later than the run started.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from dagster import DagsterInstance, DagsterRun

TAG_HOST = "music_dwh/host"
TAG_PID = "music_dwh/pid"
TAG_PID_STARTED = "music_dwh/pid_started"  # the process's creation time, epoch seconds
TAG_PGID = "music_dwh/pgid"  # its process group: leftovers (dbt) are ended with it
TAG_COMMAND = "music_dwh/command"

# psutil's creation time is rounded to the clock tick; a little slack avoids false "reused".
_CLOCK_SLACK_SECONDS = 1.0


def hostname() -> str:
    return socket.gethostname()


def process_tags(command: str, pid: int | None = None) -> dict[str, str]:
    """Tags naming the process that executes a run (default: this one)."""
    pid = os.getpid() if pid is None else pid
    return {
        TAG_HOST: hostname(),
        TAG_PID: str(pid),
        TAG_PID_STARTED: f"{psutil.Process(pid).create_time():.3f}",
        TAG_PGID: str(os.getpgid(pid)),
        TAG_COMMAND: command,
    }


@dataclass(frozen=True)
class RunProcess:
    """The process executing a run, as far as the instance knows it."""

    pid: int
    host: str | None = None
    created: float | None = None  # exact creation time (from tags)
    not_after: float | None = None  # the process existed by then (the run's start event)
    pgid: int | None = None
    command: str | None = None

    def describe(self) -> str:
        where = f" on host {self.host}" if self.host else ""
        return f"process {self.pid}{where}"

    @property
    def on_this_host(self) -> bool:
        return self.host is None or self.host == hostname()

    def is_alive(self) -> bool:
        """True while the same process (not a reused pid) runs. Another host's process is
        assumed alive: it cannot be looked at from here."""
        if not self.on_this_host:
            return True
        try:
            proc = psutil.Process(self.pid)
            created = proc.create_time()
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False
        if self.created is not None:
            return abs(created - self.created) <= _CLOCK_SLACK_SECONDS
        if self.not_after is not None:
            return created <= self.not_after + _CLOCK_SLACK_SECONDS
        return True


def run_process(instance: DagsterInstance, run: DagsterRun) -> RunProcess | None:
    """The run's process from its tags, else from its start event; None when not started."""
    tags = run.tags
    if TAG_PID in tags:
        return RunProcess(
            pid=int(tags[TAG_PID]),
            host=tags.get(TAG_HOST),
            created=float(tags[TAG_PID_STARTED]) if TAG_PID_STARTED in tags else None,
            pgid=int(tags[TAG_PGID]) if TAG_PGID in tags else None,
            command=tags.get(TAG_COMMAND),
        )
    from dagster import DagsterEventType

    records = instance.get_records_for_run(
        run.run_id, of_type=DagsterEventType.RUN_START, limit=1
    ).records
    for record in records:
        event = record.event_log_entry
        pid = event.dagster_event.pid if event.dagster_event else None
        if pid:
            return RunProcess(pid=pid, not_after=event.timestamp, command=tags.get(TAG_COMMAND))
    return None


def since(timestamp: float | None) -> str:
    if not timestamp:
        return "an unknown time"
    return dt.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")
