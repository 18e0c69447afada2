"""The warehouse's types, shared by every engine: ``TableWrite``, the ``WarehouseSession``
interface, ``WarehouseError``, the password rules libpq follows, and the tables staging
registers.

The engines (``duckdb.py``, ``postgres.py``, ``redshift.py``) implement the interface beside
this module; ``warehouse.py`` (the Dagster resource) picks one. Nothing here knows a source
system: a loader learns how to ship a table's rows from the ``TableWrite`` itself.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import pyarrow as pa

from music_dwh.settings import WarehouseTarget


class WarehouseError(Exception):
    """A user-facing warehouse problem (lock held, schema drift, unreachable server)."""


class WarehouseUnavailable(WarehouseError):
    """The warehouse cannot be used just now (its DuckDB file held by another program, its
    server unreachable or starting up): a later attempt may succeed (``resources/retries.py``)."""


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


def connection_error(
    target: WarehouseTarget, exc: Exception, password: str | None
) -> WarehouseError:
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
    unreachable = (
        "could not translate host name",
        "Connection refused",
        "timeout expired",
        "No route to host",
        "Network is unreachable",
        "could not connect",
        "Connection timed out",
        "the database system is starting up",
        "the database system is shutting down",
    )
    if any(text in reason for text in unreachable):
        detail = str(exc).strip().splitlines()[0].split(" failed: ", 1)[-1]  # not libpq's hint
        return WarehouseUnavailable(
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
    # How a loader that ships rows as files (Redshift's COPY) writes them, set by the staging
    # module that knows the source: JSON lines, with ``json_keys`` (column → the source's own
    # key, e.g. ``firstname`` → ``firstName``), or CSV for a CSV source (whose parser turns
    # every empty field into NULL, so an empty string cannot be told from NULL in a file).
    file_format: Literal["json", "csv"] = "json"
    json_keys: Mapping[str, str] = field(default_factory=dict)
    # Every row of ``batches`` has the ``replace_where`` value (a day's rows for that day): an
    # engine may then replace many such writes of one table with one delete and a few inserts
    # (DuckDB: a Chinook history is 354 days of a few records, 2 ms a statement).
    rows_in_partition: bool = False


class WarehouseSession(Protocol):
    engine: str

    def write(self, writes: Sequence[TableWrite]) -> None:
        """Apply every write in one transaction: all of them land, or none does."""

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]: ...

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table: ...

    def table_exists(self, table: str) -> bool: ...

    def columns(self, table: str) -> list[tuple[str, str]]: ...

    # SessionQueries, which every engine's session inherits:
    def count_rows(
        self,
        table: str,
        where: Mapping[str, Any] | None = None,
        span: Span | None = None,
        non_null: str | None = None,
    ) -> int: ...

    def preview(
        self, table: str, span: Span | None = None, order: str | None = None, limit: int = 5
    ) -> pa.Table: ...

    def counts_by_day(
        self,
        table: str,
        first: dt.date,
        last: dt.date,
        where: Mapping[str, Any] | None = None,
        day_column: str = "partition_date",
    ) -> dict[dt.date, int]: ...

    def days_present(self, table: str, first: dt.date, last: dt.date) -> set[dt.date]: ...

    def column_values(self, table: str, column: str) -> list[Any]: ...

    def table_names(self, schema: str) -> list[str]: ...


def split_table(table: str) -> tuple[str, str]:
    schema, _, name = table.rpartition(".")
    if not schema:
        raise ValueError(f"table name {table!r} must be schema-qualified")
    return schema, name


# ---------------------------------------------------------------------------- staging tables
TableLayouts = Callable[[], Iterable[tuple[str, pa.Schema]]]
_STAGING_TABLES: dict[str, TableLayouts] = {}


def register_staging_tables(system: str, layouts: TableLayouts) -> None:
    """Each staging module names the tables it writes (with the Arrow schema each is created
    from) when it is imported; the warehouse creates the missing ones before a run's first
    step (``Warehouse.ensure_staging_tables``)."""
    _STAGING_TABLES[system] = layouts


def staging_tables() -> list[tuple[str, pa.Schema]]:
    """Every table the registered staging modules write (staging and quarantine)."""
    return [layout for system in _STAGING_TABLES for layout in _STAGING_TABLES[system]()]


# ---------------------------------------------------------------------------- SQL text
def quote(identifier: str) -> str:
    """A double-quoted identifier (DuckDB, PostgreSQL and Redshift agree)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """A single-quoted SQL string literal (DuckDB, PostgreSQL and Redshift agree)."""
    return "'" + text.replace("'", "''") + "'"


def qualified(table: str) -> str:
    schema, name = split_table(table)
    return f"{quote(schema)}.{quote(name)}"


# (column, low, high): the rows with low <= column < high, e.g. a partition window.
Span = tuple[str, Any, Any]


def _where(where: Mapping[str, Any] | None, span: Span | None = None) -> tuple[str, list[Any]]:
    terms = [f"{quote(c)} = ?" for c in where or {}]
    params = list((where or {}).values())
    if span is not None:
        column, low, high = span
        terms.append(f"{quote(column)} >= ? and {quote(column)} < ?")
        params += [low, high]
    return (" where " + " and ".join(terms) if terms else ""), params


def _day(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


class SessionQueries:
    """The few questions asked of the warehouse outside dbt (row counts, days present, the ids
    of a snapshot), written once with the identifiers quoted, on every engine's session: the
    callers name tables and columns, never write SQL. Needs ``query`` (``?`` placeholders)."""

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        raise NotImplementedError

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        raise NotImplementedError

    def count_rows(
        self,
        table: str,
        where: Mapping[str, Any] | None = None,
        span: Span | None = None,
        non_null: str | None = None,
    ) -> int:
        """Rows of ``table`` whose columns equal ``where``'s values, inside ``span`` (all rows
        without them); only those where ``non_null`` is set, if given."""
        condition, params = _where(where, span)
        counted = f"count({quote(non_null)})" if non_null else "count(*)"
        sql = f"select {counted} from {qualified(table)}{condition}"
        return int(self.query(sql, params)[0][0])

    def preview(
        self, table: str, span: Span | None = None, order: str | None = None, limit: int = 5
    ) -> pa.Table:
        """The first ``limit`` rows of ``table`` (inside ``span``), by ``order``."""
        condition, params = _where(None, span)
        by = f" order by {quote(order)}" if order else ""
        sql = f"select * from {qualified(table)}{condition}{by} limit {int(limit)}"
        return self.query_arrow(sql, params)

    def counts_by_day(
        self,
        table: str,
        first: dt.date,
        last: dt.date,
        where: Mapping[str, Any] | None = None,
        day_column: str = "partition_date",
    ) -> dict[dt.date, int]:
        """Rows per day (``day_column``, a date or a timestamp) of [first, last], with
        ``where`` as in ``count_rows``."""
        condition, params = _where(where)
        condition = condition.replace(" where ", " and ", 1)
        day = quote(day_column)
        rows = self.query(
            f"select cast({day} as date), count(*) from {qualified(table)} "
            f"where {day} >= ? and {day} < ?{condition} group by 1",
            [first, last + dt.timedelta(days=1), *params],
        )
        return {_day(d): int(n) for d, n in rows}

    def days_present(self, table: str, first: dt.date, last: dt.date) -> set[dt.date]:
        """The ``partition_date`` values of [first, last] that have rows."""
        return set(self.counts_by_day(table, first, last))

    def column_values(self, table: str, column: str) -> list[Any]:
        """Every value of one column (a snapshot's ids)."""
        return [r[0] for r in self.query(f"select {quote(column)} from {qualified(table)}")]

    def table_names(self, schema: str) -> list[str]:
        """The tables and views of ``schema``, sorted by name."""
        rows = self.query(
            "select table_name from information_schema.tables where table_schema = ? "
            "order by table_name",
            [schema],
        )
        return [r[0] for r in rows]
