"""The Dagster instance kept in proportion to the data: ``music-dwh prune`` and the WAL
checkpoint at the end of a command.

**What prune keeps.** Every run of the last ``MUSIC_DWH_RUN_RETENTION_DAYS`` days (default 30,
``--keep-days``) with its whole event log, and every unfinished run. Of an older run, only what
Dagster's UI still reads:

* the latest materialization (and observation) of every asset partition: the partition's
  status and details, the asset's latest materialization with its schema and preview;
* a partition's latest attempt when no materialization followed it (the planned event of a
  failed run: the day shows failed until it is loaded again);
* the latest execution of every asset check (per partition for a partitioned check), with
  its evaluation.

An older run that holds none of those is removed whole: its row and tags, its events, its
check rows and, on SQLite, its event log file. One that holds some keeps its row (those events
link to it), its start and end events and those events; its run page then lists just them.

**Space.** On SQLite the files are compacted afterwards (``VACUUM``: the index, the runs file,
the kept runs' files), which needs each file idle for a moment: while ``dagster dev`` writes one,
its free pages are reused by new events instead, and prune says so. PostgreSQL reuses the space
of deleted rows by itself (autovacuum); prune runs no ``VACUUM FULL``, which would lock the
tables under a running instance.

**Checkpoint.** SQLite appends to a ``-wal`` file beside each database and copies it back when
the last connection closes; a run's process ends without closing them (``music-dwh load``'s
worker, ``cli/worker.py``), which leaves WAL files as large as the events it wrote.
``checkpoint`` copies them back and truncates them at the end of ``load``, ``demo`` and
``prune``.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dagster import DagsterInstance

Say = Callable[[str], None]
# Ids per DELETE … WHERE id IN (…): below SQLite's and PostgreSQL's limits on parameters.
CHUNK = 500
# Seconds a VACUUM (a checkpoint) waits for another process's write to end before giving up.
BUSY_SECONDS = 5
CHECKPOINT_BUSY_SECONDS = 1  # at the end of every load: a busy file is its writer's to copy
PROGRESS_SECONDS = 2.0
MB = 1_000_000


# ---------------------------------------------------------------------------- files
def instance_files(home: Path) -> list[Path]:
    """The SQLite files of an instance in DAGSTER_HOME, with their ``-wal`` and ``-shm``."""
    return sorted(p for p in home.rglob("*.db*") if p.suffix in (".db", ".db-wal", ".db-shm"))


def instance_bytes(home: Path) -> int:
    """What the instance's SQLite files take on disk, WAL included."""
    return sum(p.stat().st_size for p in instance_files(home) if p.exists())


def checkpoint(home: Path | None = None) -> None:
    """Copy each SQLite file's WAL back into it and truncate it (``wal_checkpoint(TRUNCATE)``),
    for the instance in ``home`` (default: DAGSTER_HOME). Nothing for the PostgreSQL storage.
    A file another process is writing keeps its WAL (its writer checkpoints it)."""
    from music_dwh.settings import instance_storage

    home = home or (Path(os.environ["DAGSTER_HOME"]) if os.environ.get("DAGSTER_HOME") else None)
    if home is None or instance_storage().engine != "sqlite":
        return
    for wal in home.rglob("*.db-wal"):
        if not wal.stat().st_size:
            continue
        try:
            conn = sqlite3.connect(wal.with_suffix(".db"), timeout=CHECKPOINT_BUSY_SECONDS)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                conn.close()
        except sqlite3.OperationalError:
            continue  # busy: its writer checkpoints it


def _vacuum(path: Path) -> bool:
    """``VACUUM`` one SQLite file; False when another process kept it busy. Ctrl-C (or
    SIGTERM) stops it within a moment: it runs in a thread that this one interrupts, and the
    connection closes only once that thread has left SQLite (closing it under a running
    statement crashes the process). Waits on an event, not ``Thread.join``: a join that Ctrl-C
    interrupted can return before its thread ends (CPython 3.11)."""
    outcome: list[BaseException | None] = []
    done, cancelled = threading.Event(), threading.Event()
    conn = sqlite3.connect(path, timeout=BUSY_SECONDS, check_same_thread=False)

    def work() -> None:
        try:
            if not cancelled.is_set():
                conn.execute("VACUUM")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            outcome.append(None)
        except BaseException as exc:  # handed to the main thread
            outcome.append(exc)
        finally:
            done.set()

    try:
        threading.Thread(target=work, name=f"vacuum {path.name}", daemon=True).start()
        while not done.wait(0.1):
            pass
    except BaseException:
        cancelled.set()
        deadline = time.monotonic() + BUSY_SECONDS
        while not done.wait(0.05) and time.monotonic() < deadline:
            conn.interrupt()  # SQLite rolls the VACUUM back: the file stays as it was
        if done.is_set():
            conn.close()
        raise
    conn.close()
    error = outcome[0]
    if isinstance(error, sqlite3.OperationalError) and "locked" in str(error):
        return False
    if error is not None:
        raise error
    return True


# ---------------------------------------------------------------------------- what stays
@dataclass
class Latest:
    """What an instance's UI still reads from its events, by run."""

    events: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # index ids
    # (event type, asset key, partition) of those events: their copies in a run's own file
    kinds: dict[str, set[tuple]] = field(default_factory=lambda: defaultdict(set))
    checks: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))  # check rows

    def holds(self, run_id: str) -> bool:
        return run_id in self.events or run_id in self.checks


def _chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    ids = sorted(ids)
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def latest_events(instance: DagsterInstance) -> Latest:
    """The events and check rows prune keeps whatever their age (the module docstring)."""
    import sqlalchemy as db
    from dagster import DagsterEventType as E

    from music_dwh.framework import AssetCheckExecutionsTable as C
    from music_dwh.framework import SqlEventLogStorageTable as T

    latest_kinds = {E.ASSET_MATERIALIZATION.value, E.ASSET_OBSERVATION.value}
    attempts = {E.ASSET_MATERIALIZATION_PLANNED.value, E.ASSET_FAILED_TO_MATERIALIZE.value}
    storage = instance.event_log_storage
    keep: set[int] = set()
    with storage.index_connection() as conn:
        newest = conn.execute(
            db.select(T.c.dagster_event_type, T.c.asset_key, T.c.partition, db.func.max(T.c.id))
            .where(T.c.dagster_event_type.in_(latest_kinds | attempts))
            .group_by(T.c.asset_key, T.c.dagster_event_type, T.c.partition)
        ).fetchall()
        materialized = {
            (asset, partition): id_
            for kind, asset, partition, id_ in newest
            if kind == E.ASSET_MATERIALIZATION.value
        }
        for kind, asset, partition, id_ in newest:
            # An attempt counts while no materialization of its partition came after it.
            if kind in latest_kinds or id_ > materialized.get((asset, partition), 0):
                keep.add(id_)
        latest = Latest()
        rows = conn.execute(
            db.select(db.func.max(C.c.id)).group_by(C.c.asset_key, C.c.check_name, C.c.partition)
        ).fetchall()
        for chunk in _chunks(r[0] for r in rows):
            for id_, run_id, event_id in conn.execute(
                db.select(C.c.id, C.c.run_id, C.c.evaluation_event_storage_id).where(
                    C.c.id.in_(chunk)
                )
            ):
                latest.checks[run_id].add(id_)
                if event_id:
                    keep.add(event_id)
        for chunk in _chunks(keep):
            for id_, run_id, kind, asset, partition in conn.execute(
                db.select(
                    T.c.id, T.c.run_id, T.c.dagster_event_type, T.c.asset_key, T.c.partition
                ).where(T.c.id.in_(chunk))
            ):
                latest.events[run_id].add(id_)
                latest.kinds[run_id].add((kind, asset, partition))
    return latest


# ---------------------------------------------------------------------------- prune
@dataclass
class Pruned:
    """What a prune removed (or, dry, would remove)."""

    removed_runs: int = 0  # removed whole
    trimmed_runs: int = 0  # older runs kept for their latest events, the rest removed
    events: int = 0  # removed from the runs' event logs
    event_bytes: int = 0  # their stored JSON (on SQLite, both copies: run file and index)
    bytes_before: int | None = None  # SQLite files, before and after
    bytes_after: int | None = None
    busy: list[str] = field(default_factory=list)  # SQLite files another process kept busy

    def describe(self, dry_run: bool) -> list[str]:
        verb = "would remove" if dry_run else "removed"
        lines = [
            f"{verb} {self.removed_runs:,} run(s) and {self.events:,} event(s) "
            f"({self.event_bytes / MB:.1f} MB of events)"
        ]
        if self.trimmed_runs:
            lines.append(
                f"kept {self.trimmed_runs:,} older run(s) for the latest materializations and "
                "check results they hold (their other events counted above)"
            )
        if self.bytes_before is not None and self.bytes_after is not None:
            lines.append(
                f"instance files: {self.bytes_before / MB:.1f} MB → {self.bytes_after / MB:.1f} MB"
                f" ({(self.bytes_before - self.bytes_after) / MB:.1f} MB freed)"
            )
        if self.busy:
            lines.append(
                f"not compacted, in use by another process (dagster dev?): {', '.join(self.busy)}; "
                "their free space is reused by new events"
            )
        return lines


def _lifecycle() -> set[str]:
    """Run start and end events: a kept run's page still says when it ran and how it ended."""
    from dagster import DagsterEventType as E

    return {
        e.value
        for e in (
            E.RUN_ENQUEUED,
            E.RUN_DEQUEUED,
            E.RUN_STARTING,
            E.RUN_START,
            E.RUN_SUCCESS,
            E.RUN_FAILURE,
            E.RUN_CANCELING,
            E.RUN_CANCELED,
        )
    }


def _delete_events(conn: Any, ids: Sequence[int], tags: bool = True) -> None:
    """Events by id, with their indexed tags (kept in the index only)."""
    from music_dwh.framework import AssetEventTagsTable, SqlEventLogStorageTable

    for chunk in _chunks(ids):
        if tags:
            conn.execute(
                AssetEventTagsTable.delete().where(AssetEventTagsTable.c.event_id.in_(chunk))
            )
        conn.execute(
            SqlEventLogStorageTable.delete().where(SqlEventLogStorageTable.c.id.in_(chunk))
        )


def _run_events(conn: Any, run_id: str) -> list[tuple]:
    """(id, type, asset key, partition, bytes) of a run's events in one database."""
    import sqlalchemy as db

    from music_dwh.framework import SqlEventLogStorageTable as T

    return conn.execute(
        db.select(
            T.c.id, T.c.dagster_event_type, T.c.asset_key, T.c.partition, db.func.length(T.c.event)
        ).where(T.c.run_id == run_id)
    ).fetchall()


def _prune_run(
    instance: DagsterInstance, run_id: str, latest: Latest, dry_run: bool, pruned: Pruned
) -> Path | None:
    """Remove one older run, or what it holds beyond its latest events. Events first and the
    run's row last: stopped in between, the next prune finds the run and finishes it. Returns
    the run's own SQLite file when it stays and shrank (to compact)."""
    import sqlalchemy as db

    from music_dwh.framework import AssetCheckExecutionsTable as C
    from music_dwh.framework import RunTagsTable
    from music_dwh.instance.cleanup import free_slots

    storage = instance.event_log_storage
    sharded = storage.is_run_sharded
    kept = latest.holds(run_id)
    lifecycle = _lifecycle()
    with storage.index_connection() as conn:
        index = _run_events(conn, run_id)
    drop = [
        row
        for row in index
        if not kept or (row[0] not in latest.events[run_id] and row[1] not in lifecycle)
    ]
    own: list[tuple] = []
    shard = Path(storage.path_for_shard(run_id)) if sharded else None
    if shard is not None and shard.exists():
        with storage.run_connection(run_id) as conn:
            own = [
                row
                for row in _run_events(conn, run_id)
                if not kept or (row[1:4] not in latest.kinds[run_id] and row[1] not in lifecycle)
            ]
    pruned.events += len(own if sharded else drop)
    pruned.event_bytes += sum(row[4] or 0 for row in [*drop, *own])
    if kept:
        pruned.trimmed_runs += 1
    else:
        pruned.removed_runs += 1
    if dry_run:
        return None
    if own and kept:
        with storage.run_connection(run_id) as conn:
            _delete_events(conn, [row[0] for row in own], tags=False)
    with storage.index_connection() as conn:
        _delete_events(conn, [row[0] for row in drop])
        checks = {row[0] for row in conn.execute(db.select(C.c.id).where(C.c.run_id == run_id))}
        for chunk in _chunks(checks - latest.checks[run_id]):
            conn.execute(C.delete().where(C.c.id.in_(chunk)))
    if kept:
        return shard if own else None
    free_slots(instance, run_id)
    if shard is not None:
        for path in (shard, *(shard.with_name(shard.name + s) for s in ("-wal", "-shm"))):
            path.unlink(missing_ok=True)
    with instance.run_storage.connect() as conn:
        conn.execute(RunTagsTable.delete().where(RunTagsTable.c.run_id == run_id))
    instance.run_storage.delete_run(run_id)
    return None


def prune(instance: DagsterInstance, keep_days: int, say: Say, dry_run: bool = False) -> Pruned:
    """Remove the finished runs that ended more than ``keep_days`` days ago, keeping the
    events the UI still reads (the module docstring); compact the SQLite files."""
    from dagster import DagsterRunStatus, RunsFilter

    from music_dwh.framework import _runs_directory
    from music_dwh.instance.cleanup import clean_dead_runs

    home = Path(instance.root_directory)
    sqlite = instance.event_log_storage.is_run_sharded
    pruned = Pruned(bytes_before=instance_bytes(home) if sqlite else None)
    if not dry_run:
        clean_dead_runs(instance, say)  # a dead run counts as failed, not as running
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=keep_days)
    finished = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]
    runs = [
        r.dagster_run.run_id
        for r in instance.get_run_records(
            filters=RunsFilter(statuses=finished, updated_before=cutoff)
        )
    ]
    say(
        f"{len(runs):,} run(s) ended before {cutoff:%Y-%m-%d %H:%M} UTC (older than {keep_days} "
        f"day(s)); {instance.get_runs_count():,} run(s) in the instance"
    )
    if not runs:
        return pruned
    latest = latest_events(instance)
    shrunk: list[Path] = []
    reported = time.monotonic()
    for i, run_id in enumerate(runs, 1):
        shard = _prune_run(instance, run_id, latest, dry_run, pruned)
        if shard is not None:
            shrunk.append(shard)
        if time.monotonic() - reported > PROGRESS_SECONDS:
            say(f"  {i:,} of {len(runs):,} runs …")
            reported = time.monotonic()
    if sqlite and not dry_run:
        index = Path(instance.event_log_storage.path_for_shard("index"))
        files = [index, Path(_runs_directory(str(home))) / "runs.db", *shrunk]
        say(f"compacting {len(files)} SQLite file(s) (VACUUM) …")
        for path in files:
            if path.exists() and not _vacuum(path):
                pruned.busy.append(path.name)
        pruned.bytes_after = instance_bytes(home)
    return pruned


def prune_instance(keep_days: int, say: Say, dry_run: bool = False) -> Pruned:
    """``music-dwh prune``: prune the instance of DAGSTER_HOME and say what went."""
    from dagster import DagsterInstance

    from music_dwh.settings import instance_storage

    with DagsterInstance.get() as instance:
        storage = instance_storage()
        where = instance.root_directory if storage.engine == "sqlite" else storage.redacted()
        say(f"Pruning the Dagster instance in {where} …")
        pruned = prune(instance, keep_days, say, dry_run=dry_run)
    for line in pruned.describe(dry_run):
        say(line)
    return pruned
