"""The Dagster instance music_dwh ships: where runs, events and schedules are stored, and how
cheaply.

The shipped ``dagster.yaml`` names :class:`MusicDwhInstance` (``instance_class``). Dagster asks
that class for the instance's default storage with the instance's own directory
(``config_defaults(base_dir)``), which is how the choice below works for any DAGSTER_HOME the
file is copied into, with no path written in the file. The choice is made where the instance
is first opened (``music-dwh``, ``dagster dev``, the daemon) and travels to run processes in
Dagster's instance reference:

* ``MUSIC_DWH_DAGSTER_STORAGE=sqlite`` (the default): Dagster's SQLite storage, same files and
  layout under DAGSTER_HOME (``history/runs.db``, ``history/runs/<run id>.db`` and
  ``index.db``, ``schedules/schedules.db``), so an existing history stays readable, with three
  differences (:class:`SqliteStorage`): every connection runs with ``PRAGMA synchronous=NORMAL``
  (the files are in WAL mode: a commit no longer waits for fsync; a power cut may lose the last
  commits, never corrupt a file); one idle connection per file stays open, so closing Dagster's
  per-operation connection no longer checkpoints the WAL each time; a batch of events is
  written in one transaction per file, one compiled INSERT for all of them.
* ``MUSIC_DWH_DAGSTER_STORAGE=postgresql://user@host:port/db``: dagster-postgres' storage in
  that database (:class:`PostgresStorage`), with the password from
  ``MUSIC_DWH_DAGSTER_STORAGE_PASSWORD`` injected when a connection opens (never in the URL, the
  instance's config or DAGSTER_HOME) or, when unset, libpq's own sources (``PGPASSWORD``,
  ``~/.pgpass``, trust). Connections are pooled (one per storage and process instead of one per
  event) and run with ``synchronous_commit=off``; planned events are batched too.

Batching: Dagster buffers the events it marks as a batch (the per-day materializations of one
output, the planned events of a run) when ``DAGSTER_EVENT_BATCH_SIZE`` is positive (off by
default). This instance turns it on with :data:`EVENT_BATCH_SIZE`; an explicit
``DAGSTER_EVENT_BATCH_SIZE`` wins (``0`` turns batching off).

A ``storage:`` section in a hand-written ``dagster.yaml`` still wins over all of this.
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
import yaml
from dagster import (
    DagsterEventType,
    DagsterInstance,
    DagsterInvariantViolationError,
    EventLogEntry,
    StringSource,
    serialize_value,
)
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from music_dwh.framework import (
    ASSET_EVENTS,
    LEGACY_STORAGE_CLASSES,
    LEGACY_STORAGE_MODULE,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    AssetCheckExecutionRecordStatus,
    AssetCheckExecutionsTable,
    ConfigurableClass,
    ConfigurableClassData,
    DagsterSqliteStorage,
    DagsterStorage,
    InstanceRef,
    PgTokenProvider,
    SqlEventLogStorageTable,
    SqliteEventLogStorage,
    SqliteRunStorage,
    SqliteScheduleStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
    create_engine,
    create_pg_engine,
)
from music_dwh.settings import INSTANCE_STORAGE_PASSWORD_VARIABLE, instance_storage

# Events per batch write. A range run's output yields one materialization per day (1,817 for
# the public Chinook history) and the run plans one per day and asset: a few transactions per
# asset instead of thousands. Kept moderate so one batch stays a few MB of JSON.
EVENT_BATCH_SIZE = 1000
PASSWORD_VARIABLE = INSTANCE_STORAGE_PASSWORD_VARIABLE
# Dagster marks these as batch-writable; the storages below write such batches in one go.
_BATCHED = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}


class MusicDwhInstance(DagsterInstance):
    """Dagster's instance with music_dwh's storage defaults (see the module docstring)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}  # no settings of its own in dagster.yaml: storage follows the environment

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        storage = storage_class_data(base_dir)
        defaults["storage"] = storage
        # The separate run/event/schedule entries are only read when there is no unified
        # storage; point them at it anyway, as Dagster does for a custom storage.
        wrapped = yaml.dump(
            {
                "module_name": storage.module_name,
                "class_name": storage.class_name,
                "config_yaml": storage.config_yaml,
            },
            default_flow_style=False,
        )
        keys = ("run_storage", "event_log_storage", "schedule_storage")
        for key, cls in zip(keys, LEGACY_STORAGE_CLASSES, strict=True):
            defaults[key] = ConfigurableClassData(LEGACY_STORAGE_MODULE, cls, wrapped)
        return defaults

    def _get_event_batch_size(self) -> int:
        value = os.getenv("DAGSTER_EVENT_BATCH_SIZE", "").strip()
        return int(value) if value else EVENT_BATCH_SIZE


def storage_class_data(base_dir: str) -> ConfigurableClassData:
    """The storage ``MUSIC_DWH_DAGSTER_STORAGE`` selects, as Dagster's class reference. Its
    config holds the database URL without a password (it travels to run processes)."""
    target = instance_storage()
    if target.engine == "postgres":
        config = {"postgres_url": target.sqlalchemy_url()}
        return ConfigurableClassData(
            __name__, "PostgresStorage", yaml.dump(config, default_flow_style=False)
        )
    return ConfigurableClassData(
        __name__, "SqliteStorage", yaml.dump({"base_dir": base_dir}, default_flow_style=False)
    )


# ---------------------------------------------------------------------------- SQLite
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


def _check_planned_rows(storage: Any, event: EventLogEntry, event_id: int | None) -> list[dict]:
    """The asset_check_executions rows Dagster writes for a planned check: one per day of a
    range run (1,817 for the public Chinook history).

    Dagster copies the serialized planned event (≈1.5 KB, it holds the run's whole range) into
    every row: 20 MB for that history. Here only the last row holds it, the one Dagster reads
    as the check's latest execution; the other days' rows have none, as Dagster's own rows
    from before it stored planned events (the UI then shows the row's status and run, read
    from its columns), and point to the event by ``evaluation_event_storage_id``."""
    planned = event.get_dagster_event().event_specific_data
    keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
    row = dict(
        asset_key=planned.asset_key.to_string(),
        check_name=planned.check_name,
        run_id=event.run_id,
        execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
        evaluation_event=None,
        evaluation_event_timestamp=storage._event_insert_timestamp(event),
        evaluation_event_storage_id=event_id,
    )
    rows = [{**row, "partition": key} for key in keys]
    rows[-1]["evaluation_event"] = serialize_value(event)
    return rows


class _CheapCheckPlans:
    """Dagster serializes a planned check's event and compiles its INSERT once per day of the
    range; this does both once per check, and writes the planned checks of a batch in the
    batch's transaction."""

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(), _check_planned_rows(self, event, event_id)
            )

    def _store_batch_index_rows(
        self, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int | None]
    ) -> None:
        """In the index transaction: what store_event adds for asset and planned check events."""
        _store_asset_rows(self, conn, events, event_ids)
        rows = [
            row
            for event, event_id in zip(events, event_ids, strict=True)
            if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
            for row in _check_planned_rows(self, event, event_id)
        ]
        if rows:
            if not self.supports_asset_checks:
                raise DagsterInvariantViolationError(
                    "Asset checks require a database schema migration. Run `dagster instance migrate`."
                )
            conn.execute(AssetCheckExecutionsTable.insert(), rows)


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


class BatchingSqliteEventLogStorage(_CheapCheckPlans, SqliteEventLogStorage):
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
        if not _batchable(events):
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self.run_connection(events[0].run_id) as conn:
            conn.execute(SqlEventLogStorageTable.insert(), rows)
        # Mirrored into the index database, as store_event does for asset and check events
        # (every batched kind is one of those).
        insert = SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        )
        with self.index_transaction() as conn:
            event_ids = [row[0] for row in conn.execute(insert, rows)]
            self._store_batch_index_rows(conn, events, event_ids)


def _batchable(events: Sequence[EventLogEntry]) -> bool:
    return (
        bool(events)
        and len({e.run_id for e in events}) == 1
        and all(e.is_dagster_event and e.dagster_event_type in _BATCHED for e in events)
    )


def _store_asset_rows(
    storage: Any, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int | None]
) -> None:
    """The index rows ``store_event`` writes for asset events: their indexed tags, and the
    asset's row (latest materialization, run, timestamp). That row ends as the last event of
    each asset and kind leaves it, so only those are applied, in order."""
    asset = [
        (e, i)
        for e, i in zip(events, event_ids, strict=True)
        if e.dagster_event_type in ASSET_EVENTS and e.dagster_event and e.dagster_event.asset_key
    ]
    if not asset:
        return
    if any(i is None for _, i in asset):
        raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
    storage._store_asset_event_tags(conn, [e for e, _ in asset], [i for _, i in asset])
    last: dict[tuple[str, str], int] = {}
    for position, (event, _) in enumerate(asset):
        last[(event.dagster_event.asset_key.to_string(), event.dagster_event_type.value)] = position
    for position in sorted(last.values()):
        event, event_id = asset[position]
        storage._store_asset_event(conn, event, event_id)


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


# ---------------------------------------------------------------------------- PostgreSQL
class EnvPassword(PgTokenProvider):
    """The password, read from the environment whenever a connection opens (dagster-postgres'
    hook for short-lived tokens): never part of the URL, so never in the config Dagster
    serializes for run processes, nor in a log."""

    def __init__(self, variable: str):
        super().__init__()
        self.variable = variable

    def _fetch_token(self) -> tuple[str, float]:
        return self.get_token(), float("inf")

    def get_token(self) -> str:
        return os.environ.get(self.variable, "")

    def __repr__(self) -> str:
        return f"EnvPassword({self.variable!r})"


def _pooled_engine(storage: Any) -> Engine:
    """The storage's engine with a pool instead of dagster-postgres' NullPool: a new connection
    (TCP, authentication, a server process) for every event costs more than storing it. One
    connection stays open per storage and process; a forked child opens its own. Sessions run
    with ``synchronous_commit=off``, as the SQLite storage runs with synchronous=NORMAL."""
    engine = create_pg_engine(
        storage.postgres_url,
        storage._token_provider,
        isolation_level="AUTOCOMMIT",
        pool_size=1,
        max_overflow=10,
        pool_recycle=3600,
        pool_pre_ping=True,
    )

    @db.event.listens_for(engine, "connect")
    def _remember_pid(dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()
        # The server acknowledges a commit before its WAL reaches the disk (this session only):
        # a server crash may lose the last fraction of a second of events, never corrupt them.
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
        dbapi_connection.commit()

    @db.event.listens_for(engine, "checkout")
    def _not_across_fork(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():  # SQLAlchemy's recipe for os.fork()
            record.dbapi_connection = proxy.dbapi_connection = None
            raise db.exc.DisconnectionError("connection opened by another process")

    storage._engine.dispose()
    return engine


class _PooledPostgres:
    def _use_pool(self) -> None:
        self._engine = _pooled_engine(self)

    def optimize_for_webserver(self, *args: Any, **kwargs: Any) -> None:
        engine = self._engine  # replaced by the webserver's own pooled engine
        super().optimize_for_webserver(*args, **kwargs)
        engine.dispose()

    def dispose(self) -> None:
        super().dispose()
        self._engine.dispose()


class PooledPostgresRunStorage(_PooledPostgres, PostgresRunStorage):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._use_pool()


class PooledPostgresScheduleStorage(_PooledPostgres, PostgresScheduleStorage):
    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._use_pool()


class BatchingPostgresEventLogStorage(_CheapCheckPlans, _PooledPostgres, PostgresEventLogStorage):
    """dagster-postgres' event log with a connection pool. It writes a batch of materializations
    as one multi-row INSERT compiled for every batch; this compiles one INSERT for all batches,
    and batches planned events (one per day and asset in a range run) too."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._use_pool()

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch in two statements, one compiled INSERT … RETURNING for all events (psycopg2
        sends it as multi-row VALUES) and the index rows in one transaction."""
        if not _batchable(events):
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        insert = SqlEventLogStorageTable.insert().returning(
            SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
        )
        with self._connect() as conn:
            event_ids = [int(row[0]) for row in conn.execute(insert, rows)]
        with self.index_transaction() as conn:
            self._store_batch_index_rows(conn, events, event_ids)


class PostgresStorage(DagsterStorage, ConfigurableClass):
    """dagster-postgres' storage (runs, events, schedules in one database), with the password
    from ``MUSIC_DWH_DAGSTER_STORAGE_PASSWORD`` or, when unset, libpq's own sources."""

    def __init__(self, postgres_url: str, inst_data: ConfigurableClassData | None = None):
        self._inst_data = inst_data
        password = EnvPassword(PASSWORD_VARIABLE) if os.environ.get(PASSWORD_VARIABLE) else None
        self._run_storage = PooledPostgresRunStorage(postgres_url, True, token_provider=password)
        self._event_log_storage = BatchingPostgresEventLogStorage(
            postgres_url, True, token_provider=password
        )
        self._schedule_storage = PooledPostgresScheduleStorage(
            postgres_url, True, token_provider=password
        )
        super().__init__()

    @property
    def inst_data(self) -> ConfigurableClassData | None:
        return self._inst_data

    @classmethod
    def config_type(cls) -> dict:
        return {"postgres_url": StringSource}

    @classmethod
    def from_config_value(
        cls, inst_data: ConfigurableClassData | None, config_value: Any
    ) -> PostgresStorage:
        return cls(inst_data=inst_data, **config_value)

    @property
    def event_log_storage(self) -> BatchingPostgresEventLogStorage:
        return self._event_log_storage

    @property
    def run_storage(self) -> PooledPostgresRunStorage:
        return self._run_storage

    @property
    def schedule_storage(self) -> PooledPostgresScheduleStorage:
        return self._schedule_storage

    def dispose(self) -> None:
        self._event_log_storage.dispose()
        self._run_storage.dispose()
        self._schedule_storage.dispose()
