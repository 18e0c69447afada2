"""The process that executes ``music-dwh load``'s runs (``python -m music_dwh.runs.worker
PLAN_JSON``), started by ``supervisor`` in a process group of its own.

It dies with its supervisor (Linux ``PR_SET_PDEATHSIG``): a ``kill -9`` of ``music-dwh load``
ends the load, and the next command cleans up its run.

Exit status: 0 every run succeeded, 1 a run failed or the warehouse stayed busy, 2 a mistake
in the configuration or the command.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import sys

from music_dwh.runs.load import LoadPlan, UserError, run_load


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


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore", category=Warning, module=r"dagster(\.|$)")
    warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview).*")
    sys.exit(main(sys.argv[1:]))
