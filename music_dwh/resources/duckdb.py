"""DuckDB loader: the embedded default warehouse (one file, one writer process at a time)."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import psutil
import pyarrow as pa

from music_dwh.resources.base import (
    SessionQueries,
    TableWrite,
    WarehouseError,
    qualified,
    quote,
    split_table,
)
from music_dwh.resources.writer_lock import POLL_SECONDS, REPORT_EVERY_SECONDS, LockTimeout
from music_dwh.settings import get_settings


def _lock_holder(message: str) -> str:
    """The process named in DuckDB's lock error ("… Conflicting lock is held in
    /usr/bin/python3 (PID 1234) …"), with its command line when it can be read."""
    match = re.search(r"held in (.+?) \(PID (\d+)\)", message)
    if not match:
        return "another process"
    pid = int(match.group(2))
    try:
        # One line, however the program was started (``python -c "…"`` holds newlines).
        command = " ".join(" ".join(psutil.Process(pid).cmdline()).split())[:160]
    except (psutil.Error, OSError):
        command = match.group(1)
    return f"process {pid} ({command})"


def connection_config() -> dict[str, str]:
    """Settings of every connection this package opens on the warehouse file (loads, backups);
    dbt gets the same memory limit through profiles.yml (``Warehouse.dbt_env``)."""
    return {"memory_limit": get_settings().duckdb_memory_limit}


# ---------------------------------------------------------------------------- backups
_SYSTEM_SCHEMAS = ("information_schema", "pg_catalog")


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows of every table of the open file (``schema.table`` → rows), system schemas aside."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and not internal order by 1, 2"
    ).fetchall()
    return {
        f"{schema}.{table}": con.execute(
            f"select count(*) from {qualified(f'{schema}.{table}')}"
        ).fetchall()[0][0]
        for schema, table in tables
        if schema not in _SYSTEM_SCHEMAS
    }


def export_database(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """``EXPORT DATABASE`` into ``folder`` as Parquet files plus the schema's DDL."""
    con.execute(f"EXPORT DATABASE {_literal(str(folder))} (FORMAT parquet)")


def import_database(con: duckdb.DuckDBPyConnection, folder: Path) -> None:
    """``IMPORT DATABASE`` from a folder ``export_database`` wrote."""
    con.execute(f"IMPORT DATABASE {_literal(str(folder))}")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_type(dtype: pa.DataType) -> str:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "VARCHAR"
    if pa.types.is_int64(dtype):
        return "BIGINT"
    if pa.types.is_int32(dtype) or pa.types.is_int16(dtype):
        return "INTEGER"
    if pa.types.is_float64(dtype) or pa.types.is_float32(dtype):
        return "DOUBLE"
    if pa.types.is_decimal(dtype):
        return f"DECIMAL({dtype.precision},{dtype.scale})"
    if pa.types.is_date(dtype):
        return "DATE"
    if pa.types.is_timestamp(dtype):
        return "TIMESTAMP"
    if pa.types.is_boolean(dtype):
        return "BOOLEAN"
    raise TypeError(f"no DuckDB type for {dtype}")


# Rows of merged partition writes gathered per insert (``DuckDBSession._replace_partitions``).
MERGED_INSERT_ROWS = 65_536


def _merged(writes: Sequence[TableWrite]) -> list[list[TableWrite]]:
    """``writes`` in groups, each applied as one: a write alone, or writes of one table that
    each replace one partition of the same column with its own rows (``rows_in_partition``)
    and distinct values. Applying the group at its first write's place is exact: every write in
    between touches another table, and no write's rows fall in another's partition."""
    groups: list[list[TableWrite]] = []
    open_group: dict[str, tuple[list[TableWrite], set]] = {}  # table → its group being filled
    for w in writes:
        where = w.replace_where or {}
        mergeable = w.rows_in_partition and len(where) == 1
        current = open_group.get(w.table)
        if mergeable and current is not None:
            group, values = current
            (value,) = where.values()
            first = group[0]
            if (
                first.replace_where.keys() == where.keys()
                and first.schema.equals(w.schema)
                and (value not in values)
            ):
                group.append(w)
                values.add(value)
                continue
        group = [w]
        groups.append(group)
        if mergeable:
            open_group[w.table] = (group, {next(iter(where.values()))})
        else:
            open_group.pop(w.table, None)
    return groups


class DuckDBSession(SessionQueries):
    engine = "duckdb"

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        self.con = con
        self.path = path
        # Tables already created or verified in this session: loading a long range of days
        # must not re-read the catalog for every day.
        self._ensured: dict[str, pa.Schema] = {}

    @classmethod
    def open(cls, path: Path, say=print) -> DuckDBSession:
        """Connect, waiting (visibly, up to ``MUSIC_DWH_LOCK_TIMEOUT``) while a process outside
        music_dwh's writer lock (a notebook, the duckdb shell) holds the file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        config = connection_config()
        timeout = get_settings().lock_timeout_seconds
        started = time.monotonic()
        next_report = started
        while True:
            try:
                return cls(duckdb.connect(str(path), config=config), path)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise WarehouseError(f"cannot open the DuckDB warehouse {path}: {exc}") from exc
                holder = _lock_holder(str(exc))
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise LockTimeout(
                        f"gave up after {waited:.0f} s waiting for the DuckDB warehouse {path}: "
                        f"{holder} has it open, and DuckDB allows one writer process. Close "
                        "that program (or let its run finish) and retry, or raise "
                        f"MUSIC_DWH_LOCK_TIMEOUT (now {timeout:.0f} s)."
                    ) from None  # the root cause alerts report: this message, which names the holder
                if time.monotonic() >= next_report:
                    say(
                        f"waiting for the DuckDB file {path}: {holder} has it open "
                        f"({waited:.0f} s of {timeout:.0f} s, MUSIC_DWH_LOCK_TIMEOUT)"
                    )
                    next_report = time.monotonic() + REPORT_EVERY_SECONDS
                time.sleep(POLL_SECONDS)

    def close(self) -> None:
        self.con.close()

    # ------------------------------------------------------------------ DDL
    def ensure_table(self, table: str, schema: pa.Schema) -> None:
        if self._ensured.get(table) == schema:
            return
        self._ensure_table(table, schema)
        self._ensured[table] = schema

    def _ensure_table(self, table: str, schema: pa.Schema) -> None:
        schema_name, _ = split_table(table)
        self.con.execute(f"create schema if not exists {quote(schema_name)}")
        if self.table_exists(table):
            have = [name for name, _ in self.columns(table)]
            want = list(schema.names)
            if have != want:
                raise WarehouseError(
                    f"table {table} has columns {have}, but this version of music_dwh loads {want}. "
                    f"The raw store is the system of record: drop the table (drop table {table}) "
                    "and load the days again."
                )
            return
        cols = ", ".join(f"{quote(f.name)} {sql_type(f.type)}" for f in schema)
        self.con.execute(f"create table {qualified(table)} ({cols})")

    # ------------------------------------------------------------------ writes
    def write(self, writes: Sequence[TableWrite]) -> None:
        for w in writes:
            self.ensure_table(w.table, w.schema)
        self.con.begin()
        try:
            for group in _merged(writes):
                if len(group) == 1:
                    self._replace(group[0])
                else:
                    self._replace_partitions(group)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise

    def _replace(self, w: TableWrite) -> None:
        target = qualified(w.table)
        if w.replace_where is None:
            self.con.execute(f"delete from {target}")
        else:
            conds = " and ".join(f"{quote(col)} = ?" for col in w.replace_where)
            self.con.execute(f"delete from {target} where {conds}", list(w.replace_where.values()))
        w.rows_written = 0
        for batch in w.batches:
            table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
            w.rows_written += table.num_rows
            self._insert(w.table, w.schema.names, table)

    def _replace_partitions(self, group: list[TableWrite]) -> None:
        """Writes of one table, one partition each (``rows_in_partition``, distinct values of
        one column): one delete, then their rows in inserts of up to ``MERGED_INSERT_ROWS``."""
        (column,) = group[0].replace_where
        values = [w.replace_where[column] for w in group]
        marks = ", ".join("?" * len(values))
        self.con.execute(
            f"delete from {qualified(group[0].table)} where {quote(column)} in ({marks})", values
        )
        pending: list[pa.Table] = []
        pending_rows = 0
        for w in group:
            w.rows_written = 0
            for batch in w.batches:
                table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
                w.rows_written += table.num_rows
                pending.append(table)
                pending_rows += table.num_rows
                if pending_rows >= MERGED_INSERT_ROWS:
                    self._insert(w.table, w.schema.names, pa.concat_tables(pending))
                    pending, pending_rows = [], 0
        if pending:
            self._insert(group[0].table, group[0].schema.names, pa.concat_tables(pending))

    def _insert(self, table_name: str, names: Sequence[str], table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        cols = ", ".join(quote(n) for n in names)
        self.con.register("_music_dwh_batch", table)
        try:
            self.con.execute(
                f"insert into {qualified(table_name)} ({cols}) select {cols} from _music_dwh_batch"
            )
        finally:
            self.con.unregister("_music_dwh_batch")

    # ------------------------------------------------------------------ reads
    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        return self.con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        return self.con.sql(sql, params=list(params) if params else None).to_arrow_table()

    def table_exists(self, table: str) -> bool:
        schema, name = split_table(table)
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
        )

    def columns(self, table: str) -> list[tuple[str, str]]:
        schema, name = split_table(table)
        return [
            (r[0], r[1])
            for r in self.con.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, name],
            ).fetchall()
        ]
