"""The process that executes ``music-dwh load``'s runs (``python -m music_dwh.cli.worker
PLAN_JSON``), started by ``supervisor`` in a process group of its own.

It dies with its supervisor (Linux ``PR_SET_PDEATHSIG``): a ``kill -9`` of ``music-dwh load``
ends the load, and the next command cleans up its run.

Exit status: 0 every run succeeded, 1 a run failed or the warehouse stayed busy, 2 a mistake
in the configuration or the command.

Once the runs are over the worker leaves without the interpreter's teardown (``exit_now``):
freeing the definitions, dbt's manifest, pandas and great-expectations object by object took
≈1.8 s of a one-day load's ≈18 s, after everything was written.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import sys

from music_dwh.cli.common import UserError
from music_dwh.cli.run import LoadPlan, run_load


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the supervisor still kills the group
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _say(message: str) -> None:
    print(message, flush=True)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    _die_with_parent(spec["parent"])
    from music_dwh.resources.raw_store import RawStoreError
    from music_dwh.resources.warehouse import WarehouseError
    from music_dwh.resources.writer_lock import LockTimeout
    from music_dwh.settings import SettingsError

    ok = True
    try:
        for plan in map(LoadPlan.from_json, spec["plans"]):
            ok = run_load(plan, _say) and ok
    except LockTimeout as exc:
        print(f"music-dwh: {exc}", file=sys.stderr, flush=True)
        return 1
    except (UserError, SettingsError, RawStoreError, WarehouseError) as exc:
        print(f"music-dwh: {exc}", file=sys.stderr, flush=True)
        return 2
    return 0 if ok else 1


def exit_now(status: int) -> None:
    """End the process without the interpreter's teardown, once nothing is left to write.

    Everything that outlives a run is closed or durable by then: the runs' events are
    committed to the Dagster instance (``execute_in_process`` returns after the run's last
    event; SQLite commits are in the WAL file, PostgreSQL's on the server), every warehouse
    session and dbt's DuckDB database are closed (context managers, ``release_dbt_connections``),
    and the writer lock is a ``flock`` the kernel drops with the process. What Python would still
    do is run the ``atexit`` handlers (flushing and closing log files, dbt-duckdb's connections,
    multiprocessing's helpers), which run here, and then free every object one by one, which is
    what is skipped."""
    atexit._run_exitfuncs()  # CPython's own: what a normal exit runs first
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=Warning, module=r"dagster(\.|$)")
    warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview).*")
    # An unexpected exception takes the ordinary way out (traceback, full teardown).
    exit_now(main(sys.argv[1:]))
