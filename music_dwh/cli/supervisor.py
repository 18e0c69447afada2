"""``music-dwh load`` stays responsive: the runs execute in a worker process, this process
only waits for it and answers signals.

Ctrl-C (SIGINT), SIGTERM or SIGHUP at any point (waiting for the warehouse, staging, dbt,
checks) kills the worker's whole process group at once (dbt runs inside it), then marks its run
canceled and frees its slots. Nothing is lost by not asking politely: every write of a
partition is one transaction, so a killed writer leaves each partition as it was. The same
path serves ``kill -9`` of the worker (the run is failed by the next command's clean-up).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from music_dwh.cli.run import LoadPlan

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(BaseException):
    """A command was stopped by a signal; ``exit_status`` is 128 + its number. A
    BaseException, like KeyboardInterrupt, so no `except Exception` swallows it."""

    def __init__(self, signum: int, detail: str = "") -> None:
        self.signum = signum
        self.detail = detail
        super().__init__(f"{signal_name(signum)}{': ' + detail if detail else ''}")

    @property
    def exit_status(self) -> int:
        return 128 + self.signum


def signal_name(signum: int) -> str:
    return "Ctrl-C (SIGINT)" if signum == signal.SIGINT else signal.Signals(signum).name


@contextlib.contextmanager
def signals_raise() -> None:
    """Within the block SIGTERM and SIGHUP raise ``Interrupted`` like Ctrl-C raises
    KeyboardInterrupt, so ``finally`` clean-up runs for in-process commands too."""

    def handler(signum, frame):
        raise Interrupted(signum)

    saved = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


def _run_in_own_group(argv: Sequence[str], stop: Callable[[subprocess.Popen, str], None]) -> int:
    """Run ``argv`` in a process group of its own (the terminal's Ctrl-C reaches only us) until
    it exits, returning its status; when a signal arrives first, ``stop`` it and raise
    ``Interrupted`` (its detail filled in by the caller)."""
    received: list[int] = []

    def handler(signum, frame):
        received.append(signum)

    saved = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        child = subprocess.Popen(list(argv), start_new_session=True)
        while not received:
            try:
                return child.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
        stop(child, signal_name(received[0]))
    finally:
        for s, h in saved.items():
            signal.signal(s, h)
    raise Interrupted(received[0])


def _kill_group(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def stop_group(leader: subprocess.Popen, grace_seconds: float) -> None:
    """Stop a process that leads its own group (``dagster dev``, ``dagster-daemon``, which
    ignore a signal sent to them alone): SIGTERM to the group, ``grace_seconds`` to exit, then
    SIGKILL to what is left of it, children included."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(leader.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        leader.wait(timeout=grace_seconds)
    _kill_group(leader)


def run_worker(plans: Sequence[LoadPlan], say: Callable[[str], None]) -> int:
    """Execute ``plans`` in a worker process; return its exit status, or raise
    ``Interrupted`` after stopping it when a signal arrives."""
    spec = {"parent": os.getpid(), "plans": [p.to_json() for p in plans]}
    argv = [sys.executable, "-m", "music_dwh.cli.worker", json.dumps(spec)]

    def stop(worker: subprocess.Popen, why: str) -> None:
        say(f"music-dwh: {why} received; stopping the load …")
        _kill_group(worker)  # at once: every write is one transaction

    try:
        return _run_in_own_group(argv, stop)
    except Interrupted as exc:
        raise Interrupted(exc.signum, cancel_runs(plans, signal_name(exc.signum))) from None


def cancel_runs(plans: Sequence[LoadPlan], why: str) -> str:
    """Mark the runs the worker left unfinished as canceled; say which."""
    import warnings

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    from music_dwh.instance.cleanup import mark_run_ended

    deadline = time.monotonic() + 10
    canceled = []
    with DagsterInstance.get() as instance:
        for plan in plans:
            run = instance.get_run_by_id(plan.run_id)
            if run is None or run.is_finished:
                continue
            mark_run_ended(
                instance,
                run,
                f"music-dwh load was stopped by {why}; its process was ended. Every partition "
                "is as it was or fully loaded (each write is one transaction): run the same "
                "command again to load the rest.",
                canceled=True,
            )
            canceled.append(f"run {plan.run_id[:8]} ({plan.system})")
            if time.monotonic() > deadline:
                break
    if not canceled:
        return "no run had started"
    return f"{', '.join(canceled)} canceled; no partition is half-written, re-run the command to finish"


def run_service(argv: Sequence[str], say: Callable[[str], None], grace_seconds: float = 3.0) -> int:
    """Run a long-lived program (``dagster dev``) in a process group of its own until it
    exits or a signal arrives; then ask it to stop (SIGTERM), wait ``grace_seconds`` and kill
    what is left of the group. ``dagster dev`` alone ignores Ctrl-C for ~20 s while its
    webserver, daemon and code server shut down one by one."""

    def stop(service: subprocess.Popen, why: str) -> None:
        say(f"music-dwh: {why} received; stopping {argv[0]} …")
        stop_group(service, grace_seconds)

    try:
        return _run_in_own_group(argv, stop)
    except Interrupted as exc:
        raise Interrupted(
            exc.signum, f"{os.path.basename(argv[0])} and its processes stopped"
        ) from None
