"""The warehouse: where staging tables are loaded and dbt builds the star schemas.

One small interface (``WarehouseSession``) that every engine implements in its own module
(``duckdb.py``, ``postgres.py``, ``redshift.py``). Assets speak only to
this interface, so the same asset code runs on every engine; table layouts are pyarrow schemas,
and each engine turns them into its own DDL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa
from dagster import ConfigurableResource

from music_dwh.settings import WarehouseTarget, get_settings, parse_warehouse_url


class WarehouseError(Exception):
    """A user-facing warehouse problem (lock held, schema drift, unreachable server)."""


@dataclass
class TableWrite:
    """Replace part of a table atomically.

    ``replace_where`` names the rows being replaced (``{"partition_date": day}``); ``None``
    replaces the whole table. ``batches`` is consumed lazily inside the transaction, so a
    generator that raises rolls the whole write back.
    """

    table: str  # "schema.table"
    schema: pa.Schema
    batches: Iterable[pa.RecordBatch | pa.Table]
    replace_where: Mapping[str, Any] | None = None
    rows_written: int = field(default=0, init=False)


class WarehouseSession(Protocol):
    engine: str

    def write(self, writes: Sequence[TableWrite]) -> None:
        """Apply every write in one transaction: all of them land, or none does."""

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]: ...

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table: ...

    def table_exists(self, table: str) -> bool: ...

    def columns(self, table: str) -> list[tuple[str, str]]: ...


def split_table(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    if not schema:
        raise ValueError(f"table name {table!r} must be schema-qualified")
    return schema, name


class Warehouse(ConfigurableResource):
    """The configured warehouse (``MUSIC_DWH_WAREHOUSE``); the password comes from its own
    environment variable (``MUSIC_DWH_WAREHOUSE_PASSWORD``, passed as a Dagster ``EnvVar``)."""

    url: str
    password: str | None = None

    @property
    def target(self) -> WarehouseTarget:
        return parse_warehouse_url(self.url)

    @property
    def engine(self) -> str:
        return self.target.engine

    @contextlib.contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """A connection for the length of the block; closed afterwards so dbt (a separate
        process) can open the same DuckDB file."""
        target = self.target
        if target.engine == "duckdb":
            from music_dwh.resources.duckdb import DuckDBSession

            session = DuckDBSession.open(target.path)
        elif target.engine == "postgres":
            from music_dwh.resources.postgres import PostgresSession

            session = PostgresSession.connect(target, self.password)
        elif target.engine == "redshift":
            from music_dwh.resources.raw_store import open_raw_store
            from music_dwh.resources.redshift import RedshiftSession

            # COPY reads from S3: rows are staged in the raw store's bucket (MUSIC_DWH_RAW).
            settings = get_settings()
            store = open_raw_store(settings.raw, settings.aws_endpoint_url, settings.aws_region)
            session = RedshiftSession.open(
                target, self.password, store, settings.redshift_iam_role, settings.aws_region
            )
        else:
            raise WarehouseError(f"no loader for the {target.engine} warehouse")
        try:
            yield session
        finally:
            session.close()

    def dbt_env(self) -> dict[str, str]:
        """Environment for the dbt subprocess: ``sql/profiles.yml`` reads these variables."""
        target = self.target
        env = {"MUSIC_DWH_DBT_TARGET": target.dbt_target}
        if target.engine == "duckdb":
            env["MUSIC_DWH_DUCKDB_PATH"] = str(target.path)
            env["MUSIC_DWH_DUCKDB_MEMORY_LIMIT"] = get_settings().duckdb_memory_limit
        else:
            env.update(
                MUSIC_DWH_DB_HOST=target.host or "",
                MUSIC_DWH_DB_PORT=str(target.port),
                MUSIC_DWH_DB_USER=target.user or "",
                MUSIC_DWH_DB_NAME=target.database or "",
            )
            if self.password:
                # dbt scrubs DBT_ENV_SECRET_* values from its logs and artifacts.
                env["DBT_ENV_SECRET_WAREHOUSE_PASSWORD"] = self.password
        return env

    @contextlib.contextmanager
    def dbt_environment(self, extra: Mapping[str, str] | None = None) -> Iterator[None]:
        """Expose ``dbt_env()`` (and ``extra``) to dbt for the length of the block, then restore."""
        env = {**self.dbt_env(), **(extra or {})}
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
