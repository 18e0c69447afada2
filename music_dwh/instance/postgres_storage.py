"""music_dwh's PostgreSQL storage for the Dagster instance
(``MUSIC_DWH_DAGSTER_STORAGE=postgresql://user@host:port/db``): dagster-postgres' storage in that
database, with the password from ``MUSIC_DWH_DAGSTER_STORAGE_PASSWORD`` injected when a
connection opens (never in the URL, the instance's config or DAGSTER_HOME) or, when unset,
libpq's own sources (``PGPASSWORD``, ``~/.pgpass``, trust). Connections are pooled (one per
storage and process instead of one per event) and run with ``synchronous_commit=off``; batches
of events, planned events included, are written in one go (``batches``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import sqlalchemy as db
from dagster import EventLogEntry, StringSource
from dagster_postgres.event_log import PostgresEventLogStorage
from dagster_postgres.run_storage import PostgresRunStorage
from dagster_postgres.schedule_storage import PostgresScheduleStorage
from sqlalchemy.engine import Engine

from music_dwh.framework import (
    ConfigurableClass,
    ConfigurableClassData,
    DagsterStorage,
    PgTokenProvider,
    create_pg_engine,
)
from music_dwh.instance.batches import CheapCheckPlans, batchable, insert_returning_ids
from music_dwh.settings import INSTANCE_STORAGE_PASSWORD_VARIABLE as PASSWORD_VARIABLE


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


class BatchingPostgresEventLogStorage(CheapCheckPlans, _PooledPostgres, PostgresEventLogStorage):
    """dagster-postgres' event log with a connection pool. It writes a batch of materializations
    as one multi-row INSERT compiled for every batch; this compiles one INSERT for all batches,
    and batches planned events (one per day and asset in a range run) too."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._use_pool()

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch in two statements, one compiled INSERT … RETURNING for all events (psycopg2
        sends it as multi-row VALUES) and the index rows in one transaction."""
        if not batchable(events):
            super().store_event_batch(events)
            return
        rows = [self._event_to_row(event) for event in events]
        with self._connect() as conn:
            event_ids = [int(row[0]) for row in conn.execute(insert_returning_ids(), rows)]
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
