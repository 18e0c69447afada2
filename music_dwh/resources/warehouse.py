"""The warehouse: where staging tables are loaded and dbt builds the star schemas.

One small interface (``WarehouseSession``) that every engine implements in its own module
(``duckdb.py``, ``postgres.py``, ``redshift.py``). Assets speak only to
this interface, so the same asset code runs on every engine; table layouts are pyarrow schemas,
and each engine turns them into its own DDL.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
from dagster import ConfigurableResource

from music_dwh.settings import WarehouseTarget, get_settings, parse_warehouse_url


class WarehouseError(Exception):
    """A user-facing warehouse problem (lock held, schema drift, unreachable server)."""


# ---------------------------------------------------------------------------- the password
PASSWORD_VARIABLE = "MUSIC_DWH_WAREHOUSE_PASSWORD"


def configured_password(env: Mapping[str, str] | None = None) -> str | None:
    """``MUSIC_DWH_WAREHOUSE_PASSWORD``, or None when it is unset or empty: the password is
    optional, and without it libpq finds one itself (see ``libpq_password``)."""
    return (os.environ if env is None else env).get(PASSWORD_VARIABLE) or None


def pgpass_path(env: Mapping[str, str] | None = None) -> Path:
    """The password file libpq reads: ``PGPASSFILE``, else ``~/.pgpass``."""
    env = os.environ if env is None else env
    return Path(env.get("PGPASSFILE") or Path.home() / ".pgpass")  # libpq expands no "~"


def _pgpass_field(line: str, value: str) -> str | None:
    """The rest of ``line`` after its first field when that field matches ``value`` (libpq's
    rules: ``*`` matches anything, a backslash escapes ``:`` and ``\\``), else None."""
    if line.startswith("*:"):
        return line[2:]
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line):
            out.append(line[i + 1])
            i += 2
            continue
        if ch == ":":
            return line[i + 1 :] if "".join(out) == value else None
        out.append(ch)
        i += 1
    return None


def pgpass_lookup(target: WarehouseTarget, env: Mapping[str, str] | None = None) -> str | None:
    """The password for ``target`` in the password file, found as libpq finds it: the first
    ``hostname:port:database:username:password`` line that matches; the file is ignored unless
    it is a regular file that only its owner may read (mode 0600)."""
    path = pgpass_path(env)
    try:
        if not path.is_file() or path.stat().st_mode & 0o077:
            return None
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    wanted = (target.host or "", str(target.port), target.database or "", target.user or "")
    for line in lines:
        if not line or line.startswith("#"):
            continue
        rest: str | None = line
        for value in wanted:
            rest = _pgpass_field(rest, value)
            if rest is None:
                break
        if rest is not None:
            password, i = [], 0
            while i < len(rest) and rest[i] != ":":  # it ends at an unescaped ":", as in libpq
                if rest[i] == "\\" and i + 1 < len(rest):
                    i += 1
                password.append(rest[i])
                i += 1
            return "".join(password)
    return None


def libpq_password(
    target: WarehouseTarget, password: str | None, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The password a connection to ``target`` will use and where it comes from, in libpq's
    order: ``MUSIC_DWH_WAREHOUSE_PASSWORD``, then ``PGPASSWORD``, then the password file
    (``PGPASSFILE`` or ``~/.pgpass``); ``(None, None)`` when there is none (trust or peer
    authentication need none)."""
    env = os.environ if env is None else env
    if password:
        return password, PASSWORD_VARIABLE
    if env.get("PGPASSWORD"):
        return env["PGPASSWORD"], "PGPASSWORD"
    from_file = pgpass_lookup(target, env)
    if from_file:
        return from_file, f"the password file {pgpass_path(env)}"
    return None, None


def connection_error(target: WarehouseTarget, exc: Exception, password: str | None) -> WarehouseError:
    """One line for a failed connection: what went wrong, the setting to fix and how. The
    driver's message names host, port, user and database, never the password."""
    reason = " ".join(str(exc).replace("FATAL:", " ").split())
    where = target.redacted()
    _, source = libpq_password(target, password)
    if "no password supplied" in reason:
        return WarehouseError(
            f"the warehouse {where} asks for a password and none is set: set {PASSWORD_VARIABLE} "
            f"(or PGPASSWORD, or add the line {target.host}:{target.port}:{target.database}:"
            f"{target.user}:<password> to ~/.pgpass or the file PGPASSFILE names, mode 0600)"
        )
    if "authentication failed" in reason:
        return WarehouseError(
            f"the warehouse {where} refused the password for user {target.user} "
            f"(from {source or 'nowhere'}): correct {source or PASSWORD_VARIABLE}, or the user in "
            "MUSIC_DWH_WAREHOUSE"
        )
    if re.search(r'database "[^"]*" does not exist', reason):
        return WarehouseError(
            f"the database {target.database} does not exist on {target.host}:{target.port}: create it "
            "(createdb) or name an existing one in MUSIC_DWH_WAREHOUSE"
        )
    if re.search(r'role "[^"]*" does not exist', reason):
        return WarehouseError(
            f"the user {target.user} does not exist on {target.host}:{target.port}: correct the user in "
            "MUSIC_DWH_WAREHOUSE (postgresql://USER@host:port/db)"
        )
    if "pg_hba.conf" in reason:
        return WarehouseError(
            f"the warehouse {where} does not accept this client for user {target.user} ({reason}): "
            "allow it in the server's pg_hba.conf or correct MUSIC_DWH_WAREHOUSE"
        )
    unreachable = ("could not translate host name", "Connection refused", "timeout expired",
                   "No route to host", "Network is unreachable", "could not connect", "Connection timed out")
    if any(text in reason for text in unreachable):
        detail = str(exc).strip().splitlines()[0].split(" failed: ", 1)[-1]  # not libpq's hint
        return WarehouseError(
            f"cannot reach the warehouse at {target.host}:{target.port} ({detail}): correct the host "
            "and port in MUSIC_DWH_WAREHOUSE or start the server"
        )
    return WarehouseError(
        f"cannot connect to the warehouse {where} ({reason}): check MUSIC_DWH_WAREHOUSE and the "
        f"password ({PASSWORD_VARIABLE}, PGPASSWORD or ~/.pgpass)"
    )


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


def staging_tables() -> list[tuple[str, pa.Schema]]:
    """Every table the Python loaders write (staging and quarantine, both systems), with the
    Arrow schema it is created from."""
    # Imported here: the staging modules import this one.
    from music_dwh.datagen.chinook_export import REFERENCE_TABLES, TRANSACTION_TABLES
    from music_dwh.staging import chinook, sparkify

    return [
        (sparkify.EVENTS_TABLE, sparkify.EVENTS_SCHEMA),
        (sparkify.SONGS_TABLE, sparkify.SONGS_SCHEMA),
        (sparkify.QUARANTINE_TABLE, sparkify.QUARANTINE_SCHEMA),
        *((chinook.staging_table(t), chinook.staging_schema(t)) for t in [*REFERENCE_TABLES, *TRANSACTION_TABLES]),
        (chinook.QUARANTINE_TABLE, chinook.QUARANTINE_SCHEMA),
    ]


class Warehouse(ConfigurableResource):
    """The configured warehouse (``MUSIC_DWH_WAREHOUSE``). The password is optional: it comes
    from its own environment variable (``MUSIC_DWH_WAREHOUSE_PASSWORD``, passed as a Dagster
    ``EnvVar`` when set); None lets libpq authenticate on its own (trust or peer
    authentication, ``PGPASSWORD``, ``~/.pgpass``)."""

    url: str
    password: str | None = None

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
        lock dies with its process."""
        run = getattr(context, "dagster_run", None)
        target = self.target
        if run is None:
            yield self
            return
        if target.engine != "duckdb":
            self.ensure_staging_tables()
            yield self
            return
        from music_dwh.resources.writer_lock import exclusive_writer

        tags = run.tags
        command = tags.get("music_dwh/command") or (
            f"sensor {tags['dagster/sensor_name']}" if "dagster/sensor_name" in tags
            else f"schedule {tags['dagster/schedule_name']}" if "dagster/schedule_name" in tags
            else f"Dagster run of {run.job_name}"
        )
        with exclusive_writer(
            target.path,
            timeout=get_settings().lock_timeout_seconds,
            say=context.log.info if context.log else print,
            run_id=run.run_id,
            command=command,
        ):
            # Under the lock: the only writer of the file.
            self.ensure_staging_tables()
            yield self

    def ensure_staging_tables(self) -> list[str]:
        """Create every staging and quarantine table that does not exist yet, empty, from the
        loaders' Arrow schemas; returns the tables created.

        Called when a run sets the warehouse up (``yield_for_execution``), before any step, so
        any subset of the graph runs on an empty or partial warehouse: the song catalogue's
        dimensions before the first log day, a day's facts before the catalogue, the Chinook
        dimensions before the first invoice day. Each model then reads an empty table instead
        of failing with "table does not exist". Cheap once they exist: one catalog lookup per
        table."""
        created = []
        with self.session() as session:
            for table, schema in staging_tables():
                if not session.table_exists(table):
                    session.ensure_table(table, schema)
                    created.append(table)
        return created

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
