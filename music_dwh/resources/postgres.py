"""PostgreSQL loader: the same ``WarehouseSession`` calls as DuckDB, on a server.

* Every ``write()`` is one transaction: for each ``TableWrite`` the replaced rows are deleted,
  then the new rows are streamed in with ``COPY … FROM STDIN`` one Arrow record batch at a
  time (each batch becomes CSV in memory, never the whole load). PostgreSQL's DDL is
  transactional too, but tables are created in a short transaction of their own first, so two
  runs loading different days in parallel never race on ``create table``.
* Loads into the same partition from two processes are serialized with transaction-scoped
  advisory locks; different partitions of a table load in parallel (no DuckDB-style pool).
* Callers write ``?`` placeholders (the DuckDB/DB-API "qmark" style); they are translated to
  psycopg2's ``%s`` outside string literals and quoted identifiers.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from music_dwh.resources.base import (
    SessionQueries,
    TableWrite,
    WarehouseError,
    connection_error,
    qualified,
    quote,
    split_table,
)
from music_dwh.settings import WarehouseTarget

CONNECT_TIMEOUT_SECONDS = 10


# ---------------------------------------------------------------------------- SQL text helpers
def qmark_to_pyformat(sql: str) -> str:
    """``?`` placeholders → ``%s``, and literal ``%`` → ``%%`` (psycopg2 formats the whole text
    when parameters are passed). Text inside '…' literals, "…" identifiers and comments keeps
    its ``?`` characters."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            end = i + 1
            while end < n:
                if sql[end] == ch:
                    if end + 1 < n and sql[end + 1] == ch:  # doubled quote inside
                        end += 2
                        continue
                    break
                end += 1
            out.append(sql[i : end + 1].replace("%", "%%"))
            i = end + 1
        elif sql.startswith("--", i):
            end = sql.find("\n", i)
            end = n if end < 0 else end
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(sql[i:end].replace("%", "%%"))
            i = end
        elif ch == "?":
            out.append("%s")
            i += 1
        elif ch == "%":
            out.append("%%")
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def sql_type(dtype: pa.DataType) -> str:
    """PostgreSQL column type for an Arrow type (the staging schemas' types)."""
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "text"
    if pa.types.is_int64(dtype):
        return "bigint"
    if pa.types.is_int32(dtype) or pa.types.is_int16(dtype):
        return "integer"
    if pa.types.is_float64(dtype):
        return "double precision"
    if pa.types.is_float32(dtype):
        return "real"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "timestamp with time zone" if dtype.tz else "timestamp"
    if pa.types.is_boolean(dtype):
        return "boolean"
    raise TypeError(f"no PostgreSQL type for {dtype}")


def copy_sql(table: str, columns: Sequence[str]) -> str:
    """COPY of one CSV batch. In PostgreSQL's CSV format an unquoted empty field is NULL and a
    quoted one ("") an empty string; pyarrow writes exactly that (strings always quoted)."""
    cols = ", ".join(quote(c) for c in columns)
    return f"copy {qualified(table)} ({cols}) from stdin with (format csv, header false, null '', encoding 'UTF8')"


def batch_csv(table: pa.Table) -> io.BytesIO:
    """One batch as CSV bytes (no header; NULL as an unquoted empty field; floats in their
    shortest round-trip form, so a double arrives bit for bit)."""
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    buffer.seek(0)
    return buffer


def as_table(batch: pa.RecordBatch | pa.Table, schema: pa.Schema) -> pa.Table:
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    return table.select(schema.names)


def lock_key(*parts: Any) -> int:
    """A stable signed 64-bit key for ``pg_advisory_xact_lock``."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


# Arrow types for result columns, by PostgreSQL type OID (cursor.description type codes).
_OID_TYPES = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
    1042: pa.string(),
    1043: pa.string(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", tz="UTC"),
}


def _arrow_column(values: list, oid: int, precision: int | None, scale: int | None) -> pa.Array:
    if oid == 1700:  # numeric: its declared precision/scale when it has one
        if precision and scale is not None and 0 < precision <= 38:
            return pa.array(values, pa.decimal128(precision, scale))
        return pa.array(values)
    dtype = _OID_TYPES.get(oid)
    if dtype is not None:
        return pa.array(values, dtype)
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())


# ---------------------------------------------------------------------------- the session
class PostgresSession(SessionQueries):
    engine = "postgres"

    def __init__(self, con) -> None:
        self.con = con
        self._written: set[str] = set()

    @classmethod
    def connect(
        cls, target: WarehouseTarget, password: str | None, **options: Any
    ) -> PostgresSession:
        import psycopg2

        try:
            con = psycopg2.connect(
                host=target.host,
                port=target.port,
                user=target.user,
                # None, not "": libpq then uses PGPASSWORD or the password file (an empty
                # password would hide PGPASSWORD), or none at all (trust, peer).
                password=password or None,
                dbname=target.database,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="music_dwh",
                **options,
            )
        except psycopg2.OperationalError as exc:
            raise connection_error(target, exc, password) from None
        con.set_client_encoding("UTF8")
        return cls(con)

    def close(self) -> None:
        # Fresh statistics for what was loaded: without them the planner misjudges a just-loaded
        # staging table and a dbt model can take 50 s instead of 1.5 s. Once per session, not
        # once per day of a range.
        try:
            if self._written and not self.con.closed:
                self.con.rollback()
                with self.con.cursor() as cur:
                    for table in sorted(self._written):
                        cur.execute(f"analyze {qualified(table)}")
                self.con.commit()
        finally:
            self.con.close()

    # ------------------------------------------------------------------ DDL
    @staticmethod
    def create_table_sql(table: str, schema: pa.Schema) -> str:
        cols = ", ".join(f"{quote(f.name)} {sql_type(f.type)}" for f in schema)
        return f"create table {qualified(table)} ({cols})"

    def ensure_table(self, table: str, schema: pa.Schema) -> None:
        """Create the schema and table when missing (committed at once); refuse a table whose
        columns differ from what this version loads."""
        schema_name, _ = split_table(table)
        if self.table_exists(table):
            self._check_columns(table, schema)
            return
        with self.con.cursor() as cur:
            try:
                # Serializes concurrent creators (parallel partitions of the first load).
                cur.execute("select pg_advisory_xact_lock(%s)", [lock_key("music_dwh.ddl")])
                cur.execute(f"create schema if not exists {quote(schema_name)}")
                # Another loader may have created it while this one waited for the lock.
                cur.execute(qmark_to_pyformat(_TABLE_EXISTS), split_table(table))
                if not cur.fetchone()[0]:
                    cur.execute(self.create_table_sql(table, schema))
                self.con.commit()
            except BaseException:
                self.con.rollback()
                raise
        self._check_columns(table, schema)

    def _check_columns(self, table: str, schema: pa.Schema) -> None:
        have = [name for name, _ in self.columns(table)]
        want = list(schema.names)
        if have != want:
            self.con.rollback()
            raise WarehouseError(
                f"table {table} has columns {have}, but this version of music_dwh loads {want}. "
                f"The raw store is the system of record: drop the table (drop table {table}) "
                "and load the days again."
            )

    # ------------------------------------------------------------------ writes
    def write(self, writes: Sequence[TableWrite]) -> None:
        for w in writes:
            self.ensure_table(w.table, w.schema)
        self.con.rollback()  # start from a clean transaction (reads above opened one)
        try:
            with self.con.cursor() as cur:
                self._lock(cur, writes)
                for w in writes:
                    self._replace(cur, w)
            self.con.commit()
        except BaseException:
            self.con.rollback()
            raise
        self._written.update(w.table for w in writes)

    @staticmethod
    def _lock(cur, writes: Iterable[TableWrite]) -> None:
        """Advisory locks, taken in key order so two loaders never deadlock: a whole-table
        replace excludes every other write of that table; a partition replace excludes only
        writes of the same partition."""
        locks: dict[int, bool] = {}  # key → exclusive
        for w in writes:
            table_key = lock_key(w.table)
            if w.replace_where is None:
                locks[table_key] = True
            else:
                locks.setdefault(table_key, False)
                locks[
                    lock_key(w.table, sorted((k, str(v)) for k, v in w.replace_where.items()))
                ] = True
        for key in sorted(locks):
            fn = "pg_advisory_xact_lock" if locks[key] else "pg_advisory_xact_lock_shared"
            cur.execute(f"select {fn}(%s)", [key])

    def _replace(self, cur, w: TableWrite) -> None:
        target = qualified(w.table)
        if w.replace_where is None:
            cur.execute(f"delete from {target}")
        else:
            conds = " and ".join(f"{quote(col)} = %s" for col in w.replace_where)
            cur.execute(f"delete from {target} where {conds}", list(w.replace_where.values()))
        statement = copy_sql(w.table, w.schema.names)
        w.rows_written = 0
        for batch in w.batches:  # consumed here, inside the transaction
            table = as_table(batch, w.schema)
            if table.num_rows == 0:
                continue
            cur.copy_expert(statement, batch_csv(table))
            w.rows_written += table.num_rows

    # ------------------------------------------------------------------ reads
    def _execute(self, cur, sql: str, params: Sequence[Any] | None) -> None:
        cur.execute(qmark_to_pyformat(sql), tuple(params or ()))

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
        with self.con.cursor() as cur:
            try:
                self._execute(cur, sql, params)
                rows = cur.fetchall() if cur.description else []
            except BaseException:
                self.con.rollback()
                raise
        self.con.commit()  # end the read transaction: never hold locks between calls
        return rows

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self.con.cursor() as cur:
            try:
                self._execute(cur, sql, params)
                description = cur.description or []
                rows = cur.fetchall() if description else []
            except BaseException:
                self.con.rollback()
                raise
        self.con.commit()
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in description]
        return pa.table(
            {
                d.name: _arrow_column(list(col), d.type_code, d.precision, d.scale)
                for d, col in zip(description, columns, strict=True)
            }
        )

    def table_exists(self, table: str) -> bool:
        return bool(self.query(_TABLE_EXISTS, list(split_table(table)))[0][0])

    def columns(self, table: str) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.query(_COLUMNS, list(split_table(table)))]


_TABLE_EXISTS = (
    "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
)
_COLUMNS = (
    "select column_name, data_type from information_schema.columns "
    "where table_schema = ? and table_name = ? order by ordinal_position"
)
