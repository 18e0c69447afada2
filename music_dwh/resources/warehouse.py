"""The warehouse: where staging tables are loaded and dbt builds the star schemas.

One small interface (``WarehouseSession``, in ``base.py`` with the other types) that every
engine implements in its own module (``duckdb.py``, ``postgres.py``, ``redshift.py``); this
module is the Dagster resource that opens the configured one. Assets speak only to
this interface, so the same asset code runs on every engine; table layouts are pyarrow schemas,
and each engine turns them into its own DDL.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from dagster import ConfigurableResource
from pydantic import PrivateAttr

# The types live in base.py (the engines import them from there); named here too for the
# callers that know only the resource.
from music_dwh.resources.base import (  # noqa: F401
    PASSWORD_VARIABLE,
    TableWrite,
    WarehouseError,
    WarehouseSession,
    configured_password,
    connection_error,
    libpq_password,
    pgpass_lookup,
    pgpass_path,
    split_table,
    staging_tables,
)
from music_dwh.resources.duckdb import DuckDBSession
from music_dwh.resources.postgres import PostgresSession
from music_dwh.resources.raw_store import open_raw_store
from music_dwh.resources.redshift import RedshiftSession
from music_dwh.resources.retries import retried_when_transient
from music_dwh.settings import WarehouseTarget, get_settings, parse_warehouse_url


class Warehouse(ConfigurableResource):
    """The configured warehouse (``MUSIC_DWH_WAREHOUSE``). The password is optional: it comes
    from its own environment variable (``MUSIC_DWH_WAREHOUSE_PASSWORD``, passed as a Dagster
    ``EnvVar`` when set); None lets libpq authenticate on its own (trust or peer
    authentication, ``PGPASSWORD``, ``~/.pgpass``)."""

    url: str
    password: str | None = None
    # Set when a run sets the warehouse up: its first session creates the missing staging tables.
    _staging_tables_pending: bool = PrivateAttr(default=False)

    @classmethod
    def from_env(cls) -> Warehouse:
        """The configured warehouse with its password as a plain value, for code that runs
        outside Dagster (``music-dwh summary``)."""
        settings = get_settings()
        password = None if settings.warehouse.engine == "duckdb" else configured_password()
        return cls(url=settings.warehouse.url, password=password)

    def check_connection(self) -> None:
        """Connect once and disconnect, before a run: a server that cannot be reached or refuses
        the credentials is then one ``WarehouseError`` line instead of a failed run. DuckDB is
        not opened here (its file may be held by a running writer)."""
        if self.engine != "duckdb":
            with self.session():
                pass

    @property
    def target(self) -> WarehouseTarget:
        return parse_warehouse_url(self.url)

    @property
    def engine(self) -> str:
        return self.target.engine

    @contextlib.contextmanager
    def yield_for_execution(self, context) -> Iterator[Warehouse]:
        """In a run on DuckDB, hold the warehouse's writer lock from the first step to the
        last (``writer_lock``): whoever started the run, it is the file's only writer, and the
        lock dies with its process. The run's first session creates the missing staging tables
        (``ensure_staging_tables``): in a step, where a warehouse that is unavailable for a
        moment is retried (``resources/retries.py``)."""
        run = getattr(context, "dagster_run", None)
        target = self.target
        if run is None:
            yield self
            return
        if context.instance is not None:
            # tags.py reads the settings when imported: not at this module's import, which the
            # CLI's error handling does too.
            from music_dwh.tags import WAREHOUSE_TAG

            context.instance.add_run_tags(run.run_id, {WAREHOUSE_TAG: target.redacted()})
        self._staging_tables_pending = True
        if target.engine != "duckdb":
            yield self
            return
        from music_dwh.resources.writer_lock import exclusive_writer

        tags = run.tags
        command = tags.get("music_dwh/command") or (
            f"sensor {tags['dagster/sensor_name']}"
            if "dagster/sensor_name" in tags
            else f"schedule {tags['dagster/schedule_name']}"
            if "dagster/schedule_name" in tags
            else f"Dagster run of {run.job_name}"
        )
        with exclusive_writer(
            target.path,
            timeout=get_settings().lock_timeout_seconds,
            say=context.log.info if context.log else print,
            run_id=run.run_id,
            command=command,
        ):
            yield self

    def ensure_staging_tables(self) -> list[str]:
        """Create every staging and quarantine table that does not exist yet, empty, from the
        loaders' Arrow schemas; returns the tables created.

        A run's first session does this (``session``), before any step reads a table, so any
        subset of the graph runs on an empty or partial warehouse: the song catalogue's
        dimensions before the first log day, a day's facts before the catalogue, the Chinook
        dimensions before the first invoice day. Each model then reads an empty table instead
        of failing with "table does not exist". Cheap once they exist: one catalog lookup per
        table. The tables are those the staging modules registered when imported (a run
        imports them through its Definitions)."""
        with self.session() as session:
            return self._create_staging_tables(session)

    @staticmethod
    def _create_staging_tables(session: WarehouseSession) -> list[str]:
        tables = staging_tables()
        if not tables:
            raise WarehouseError(
                "no staging module is loaded, so there are no staging tables to create: import "
                "music_dwh.staging.<system> (or the Definitions) first"
            )
        created = []
        for table, schema in tables:
            if not session.table_exists(table):
                session.ensure_table(table, schema)
                created.append(table)
        return created

    @contextlib.contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        """A connection for the length of the block; closed afterwards so dbt (a separate
        process) can open the same DuckDB file. In a step, a warehouse unavailable for a
        moment (file held, server unreachable, connection lost) retries the step
        (``resources/retries.py``)."""
        with retried_when_transient():
            session = self._open()
            try:
                if self._staging_tables_pending:
                    self._create_staging_tables(session)
                    self._staging_tables_pending = False
                yield session
            finally:
                session.close()

    def _open(self) -> WarehouseSession:
        target = self.target
        if target.engine == "duckdb":
            session = DuckDBSession.open(target.path)
        elif target.engine == "postgres":
            session = PostgresSession.connect(target, self.password)
        elif target.engine == "redshift":
            # COPY reads from S3: rows are staged in the raw store's bucket (MUSIC_DWH_RAW).
            settings = get_settings()
            store = open_raw_store(settings.raw, settings.aws_endpoint_url, settings.aws_region)
            session = RedshiftSession.open(
                target, self.password, store, settings.redshift_iam_role, settings.aws_region
            )
        else:
            raise WarehouseError(f"no loader for the {target.engine} warehouse")
        return session

    def dbt_env(self) -> dict[str, str]:
        """Environment for dbt (in-process, ``resources/dbt_cli.py``; ``ensure_manifest``'s parse):
        ``sql/profiles.yml`` reads these variables."""
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
            # dbt-postgres always hands libpq a password, '' when the profile has none, and an
            # empty password hides PGPASSWORD from libpq (the password file still applies);
            # dbt-redshift (redshift_connector) reads neither. So dbt gets the password libpq
            # would use. dbt scrubs DBT_ENV_SECRET_* values from its logs and artifacts.
            if target.engine == "postgres":
                password = self.password or os.environ.get("PGPASSWORD")
            else:
                password, _ = libpq_password(target, self.password)
            if password:
                env["DBT_ENV_SECRET_WAREHOUSE_PASSWORD"] = password
        return env
