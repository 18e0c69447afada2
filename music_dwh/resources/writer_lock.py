"""One writer at a time on a DuckDB warehouse file, whoever starts the run.

DuckDB lets one process open a file for writing. Runs of ``music-dwh load``, of the daemon
(sensors, schedules, the UI) and ``music-dwh restore`` take an exclusive ``flock`` on a file
beside the warehouse for as long as they use it. The kernel drops the lock when its process
ends, however it ends (``kill -9``, the OOM killer, a reboot): a dead run never blocks the
next. The holder writes who it is into the lock file, so a waiting process can say so.

Waiting sleeps (no busy loop), reports the holder once and then every ~15 s, and gives up
after ``MUSIC_DWH_LOCK_TIMEOUT``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from music_dwh.resources.base import WarehouseUnavailable

REPORT_EVERY_SECONDS = 15.0
POLL_SECONDS = 0.5


class LockTimeout(WarehouseUnavailable):
    """Gave up waiting for another writer; the message names it and what to do."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a warehouse lock, as written into the lock file."""

    pid: int | None = None
    host: str | None = None
    run_id: str | None = None
    command: str | None = None
    since: float | None = None

    def describe(self) -> str:
        from music_dwh.instance.liveness import since

        parts = []
        if self.run_id:
            parts.append(f"run {self.run_id[:8]}")
        what = ", ".join(
            p
            for p in (
                self.command,
                f"pid {self.pid}" if self.pid else None,
                f"host {self.host}" if self.host else None,
            )
            if p
        )
        text = " ".join(parts) or "another process"
        if what:
            text += f" ({what})"
        return f"{text} since {since(self.since)}"


def lock_path(warehouse_file: Path) -> Path:
    return warehouse_file.with_name(warehouse_file.name + ".writer.lock")


def read_holder(path: Path) -> Holder:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return Holder()
    return Holder(**{k: data.get(k) for k in ("pid", "host", "run_id", "command", "since")})


# A process may take the lock more than once (``music-dwh load`` before its run, then the
# run's warehouse resource): flock locks belong to an open file, so a second open in the same
# process would wait for itself. Count the nesting instead.
_held: dict[Path, list] = {}
_held_guard = threading.Lock()


def _try_lock(path: Path) -> int | None:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
            return None
        raise
    return fd


def _write_holder(fd: int, holder: Holder) -> None:
    data = json.dumps({k: v for k, v in holder.__dict__.items() if v is not None}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


@contextlib.contextmanager
def exclusive_writer(
    warehouse_file: Path,
    *,
    timeout: float,
    say: Callable[[str], None],
    run_id: str | None = None,
    command: str | None = None,
    while_waiting: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the writer lock of ``warehouse_file`` for the block; wait for it (sleeping) up to
    ``timeout`` seconds, saying who holds it. ``while_waiting`` runs every few seconds while
    waiting (``music-dwh load`` cleans up dead runs there)."""
    path = lock_path(Path(warehouse_file).resolve())
    with _held_guard:
        if path in _held:
            _held[path][1] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[path][1] -= 1
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    fd = _wait_for_lock(path, timeout=timeout, say=say, while_waiting=while_waiting)
    from music_dwh.instance.liveness import hostname

    _write_holder(
        fd,
        Holder(pid=os.getpid(), host=hostname(), run_id=run_id, command=command, since=time.time()),
    )
    with _held_guard:
        _held[path] = [fd, 1]
    try:
        yield
    finally:
        with _held_guard:
            entry = _held[path]
            entry[1] -= 1
            release = entry[1] == 0
            if release:
                del _held[path]
        if release:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the file drops the flock


def _wait_for_lock(
    path: Path,
    *,
    timeout: float,
    say: Callable[[str], None],
    while_waiting: Callable[[], None] | None,
) -> int:
    started = time.monotonic()
    next_report = 0.0
    next_housekeeping = 0.0
    while True:
        fd = _try_lock(path)
        if fd is not None:
            waited = time.monotonic() - started
            if next_report:  # we reported waiting: say that it is over
                say(f"the warehouse is free after {waited:.0f} s; continuing")
            return fd
        now = time.monotonic()
        waited = now - started
        holder = read_holder(path)
        warehouse = str(path).removesuffix(".writer.lock")
        if waited >= timeout:
            raise LockTimeout(
                f"gave up after {waited:.0f} s waiting for the warehouse {warehouse}: it is in "
                f"use by {holder.describe()}. Let that finish, stop it (Ctrl-C in its terminal or "
                "Terminate in the Dagster UI), or raise MUSIC_DWH_LOCK_TIMEOUT "
                f"(now {timeout:.0f} s)."
            )
        if now >= next_report:
            if not next_report:
                say(
                    f"waiting for the warehouse {warehouse}: in use by {holder.describe()}; "
                    f"giving up after {timeout:.0f} s (MUSIC_DWH_LOCK_TIMEOUT)"
                )
            else:
                say(f"still waiting for the warehouse ({waited:.0f} s): {holder.describe()}")
            next_report = now + REPORT_EVERY_SECONDS
        if while_waiting is not None and now >= next_housekeeping:
            while_waiting()
            next_housekeeping = now + 5.0
        time.sleep(POLL_SECONDS)
