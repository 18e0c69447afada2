"""music_dwh's SQLite storage for the Dagster instance (``MUSIC_DWH_DAGSTER_STORAGE=sqlite``,
the default): Dagster's SQLite storage, same files and layout under DAGSTER_HOME
(``history/runs.db``, ``history/runs/<run id>.db`` and ``index.db``,
``schedules/schedules.db``), so an existing history stays readable, with three differences:

* every connection runs with ``PRAGMA synchronous=NORMAL`` (the files are in WAL mode: a commit
  no longer waits for fsync; a power cut may lose the last commits, never corrupt a file);
* one idle connection per file stays open, so closing Dagster's per-operation connection no
  longer checkpoints the WAL each time;
* a batch of events is written in one transaction per file, one compiled INSERT for all of
  them (``batches``).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as db
from dagster import EventLogEntry
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from music_dwh.framework import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    ConfigurableClassData,
    DagsterSqliteStorage,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
    SqliteRunStorage,
    SqliteScheduleStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
    create_engine,
)
from music_dwh.instance.batches import CheapCheckPlans, batchable, insert_returning_ids

# Page size of a new event log file (an existing file keeps its own: WAL mode fixes it). Events
# are 1–3 KB of JSON; in SQLite's default 4 KB pages a third of each page stayed empty.
PAGE_SIZE = 8192


def _synchronous_normal(dbapi_connection: Any, _record: Any) -> None:
    # Runs when SQLAlchemy opens the connection, before any transaction (SQLite refuses to change
    # `synchronous` inside one). Per connection: it is not stored in the file. The page size
    # only applies to a file not written yet.
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    finally:
        cursor.close()


def sqlite_engine(conn_string: str, **kwargs: Any) -> Engine:
    """Dagster's engine for one of its SQLite files (no pool, as Dagster does), whose every new
    connection runs with ``synchronous=NORMAL``."""
    engine = create_engine(conn_string, poolclass=NullPool, **kwargs)
    db.event.listen(engine, "connect", _synchronous_normal)
    return engine


class _Engines:
    """One engine per SQLite file a storage uses, made once instead of for every operation.

    Dagster builds an engine for every event it stores and disposes of it afterwards; and
    SQLAlchemy's cache of compiled statements belongs to an engine, so every INSERT was
    compiled again. Keeping the engines took a run of 916 events from ≈2.9 to ≈1.9 ms per event
    (a one-day Sparkify load stores ≈530). They keep Dagster's ``NullPool`` (no connection
    outlives its operation, nothing is shared across threads or a fork), so keeping them
    changes nothing else; the oldest is dropped past ``size`` files."""

    def __init__(self, size: int):
        self._size = size
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, conn_string: str, **kwargs: Any) -> Engine:
        with self._lock:
            engine = self._engines.get(conn_string)
            if engine is None:
                engine = self._engines[conn_string] = sqlite_engine(conn_string, **kwargs)
                while len(self._engines) > self._size:
                    self._engines.popitem(last=False)[1].dispose()
            else:
                self._engines.move_to_end(conn_string)
            return engine

    def dispose(self) -> None:
        with self._lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()


def _engines(storage: Any, size: int) -> _Engines:
    engines = storage.__dict__.get("_music_dwh_engines")
    if engines is None:
        engines = storage.__dict__.setdefault("_music_dwh_engines", _Engines(size))
    return engines


class _OpenFiles:
    """One idle connection to each SQLite file a storage writes, held while the storage lives.

    Dagster opens and closes a connection for every operation, and SQLite checkpoints the WAL
    into the database (with an fsync) whenever the last connection to a file closes: once per
    event. With one more connection open, closing is cheap and checkpoints happen when the
    WAL reaches 1,000 pages. The idle connections never run a statement after opening (so they
    hold no lock), the oldest is closed past ``size`` files, and a forked child drops the ones
    it inherited without closing them (SQLite connections must not cross a fork)."""

    def __init__(self, size: int):
        self._size = size
        self._open: OrderedDict[str, sqlite3.Connection] = OrderedDict()
        self._pid = os.getpid()
        self._lock = threading.Lock()

    def keep(self, path: str) -> None:
        with self._lock:
            if self._pid != os.getpid():
                _INHERITED.extend(self._open.values())
                self._open, self._pid = OrderedDict(), os.getpid()
            if path in self._open:
                self._open.move_to_end(path)
                return
            conn = sqlite3.connect(
                path, timeout=SQLITE_BUSY_TIMEOUT_SECONDS, check_same_thread=False
            )
            conn.execute("select 1 from sqlite_master limit 1").fetchall()  # maps the WAL index
            self._open[path] = conn
            while len(self._open) > self._size:
                self._open.popitem(last=False)[1].close()

    def close(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                for conn in self._open.values():
                    conn.close()
            self._open.clear()


_INHERITED: list[sqlite3.Connection] = []  # a forked child's copies, never closed nor used


def _sqlite_path(conn_string: str) -> str:
    return conn_string[len("sqlite:///") :]


class _NormalSyncConnections:
    """``connect`` of Dagster's single-file SQLite storages (runs, schedules) with
    synchronous=NORMAL and one connection kept open per file."""

    _conn_string: str

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        _open_files(self, 1).keep(_sqlite_path(self._conn_string))
        engine = _engines(self, 1).get(self._conn_string)
        with engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        _open_files(self, 1).close()
        _engines(self, 1).dispose()
        super().dispose()


class NormalSyncSqliteRunStorage(_NormalSyncConnections, SqliteRunStorage):
    """Dagster's SQLite run storage (``history/runs.db``), connections with synchronous=NORMAL."""


class NormalSyncSqliteScheduleStorage(_NormalSyncConnections, SqliteScheduleStorage):
    """Dagster's SQLite schedule storage (ticks, cursors), connections with synchronous=NORMAL."""


def _open_files(storage: Any, size: int) -> _OpenFiles:
    files = storage.__dict__.get("_music_dwh_open_files")
    if files is None:
        files = storage.__dict__.setdefault("_music_dwh_open_files", _OpenFiles(size))
    return files


def _larger_pages(path: str) -> None:
    """Give a just-created SQLite file ``PAGE_SIZE`` pages. Dagster creates the event log's
    index with its own engine, before this storage's; once in WAL mode only a VACUUM outside
    it changes the page size, which needs the file to itself: skipped if another process
    (a webserver starting at the same moment) already has it open."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        if conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0] != "delete":
            return
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("VACUUM")
    except sqlite3.OperationalError:
        pass
    finally:
        with contextlib.suppress(sqlite3.OperationalError):
            conn.execute("PRAGMA journal_mode=WAL")
        conn.close()


class BatchingSqliteEventLogStorage(CheapCheckPlans, SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log, with synchronous=NORMAL connections and batches
    written in one transaction per database file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        new = not os.path.exists(os.path.join(base_dir, "index.db"))
        super().__init__(base_dir, inst_data)
        if new:
            _open_files(self, 4).close()  # Dagster's set-up ran through ours, which keeps it open
            _larger_pages(self.path_for_shard("index"))

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # Dagster's _connect, with sqlite_engine for create_engine.
        with self._db_lock:
            engine = _engines(self, 4).get(
                self.conn_string_for_shard(shard),
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            # the index and the last few runs' files (a run process writes one)
            _open_files(self, 4).keep(self.path_for_shard(shard))
            with engine.connect() as conn, conn.begin():
                yield conn

    def dispose(self) -> None:
        _open_files(self, 4).close()
        _engines(self, 4).dispose()
        super().dispose()

    def wipe(self) -> None:
        _open_files(self, 4).close()  # the run files are deleted
        _engines(self, 4).dispose()
        super().wipe()

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """What ``store_event`` does for each event, in one transaction on the run's database
        and one on the index database (plus one per asset check planned, a few per run), each
        a single compiled INSERT for all rows (Dagster compiles one per event)."""
        if not batchable(events):
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # Mirrored into the index database, as store_event does for asset and check events
        # (every batched kind is one of those).
        with self.index_transaction() as conn:
            event_ids = [row[0] for row in conn.execute(insert_returning_ids(), rows)]
            self._store_batch_index_rows(conn, events, event_ids)


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage in ``base_dir`` (DAGSTER_HOME), same files and layout, with the
    three storages above."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # DagsterSqliteStorage.__init__ with music_dwh's classes.
        self.base_dir = base_dir
        self._run_storage = NormalSyncSqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = BatchingSqliteEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = NormalSyncSqliteScheduleStorage.from_local(
            _schedule_directory(base_dir)
        )
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData, config_value: Any
    ) -> SqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)
