"""Amazon Redshift loader: staged files in S3, then ``DELETE`` + ``COPY`` in one transaction.

The Python staging parsers (``music_dwh/staging``) stay the one place where raw records are
validated, repaired (ftfy) and quarantined, on every engine. Redshift only receives the rows
they accepted, the way Redshift wants bulk data: as files in S3 loaded by ``COPY``.

For every ``TableWrite`` of a ``write()``:

1. its record batches are written to the raw store's bucket under
   ``_loads/<schema>/<table>/<partition or 'all'>/<load id>/part-NNNNN.<json|csv>.gz``, one
   gzip'd file per batch (the load id is unique per ``write()``, so files of an earlier or a
   parallel load never mix in);
2. a COPY manifest beside them lists exactly those files, each ``"mandatory": true``. COPY is
   never pointed at a key *prefix*: ``…/2018-11-1`` would also match ``…/2018-11-10``;
3. then, in ONE transaction for all the writes: ``LOCK`` the tables (Redshift's advice against
   serializable-isolation errors when partitions load in parallel), ``DELETE`` the replaced
   rows, ``COPY … MANIFEST``, ``COMMIT``. Never ``TRUNCATE``: it commits on its own, and a
   failed COPY would leave the partition empty.

File formats come with each write (``TableWrite.file_format``, ``json_keys``), set by the
staging module that knows its source, so every load of a table looks the same and this
loader knows no source system:

* ``json`` (the default; Sparkify's tables): JSON lines, with the source's own camelCase keys
  where staging names them (``firstName``, ``userId`` …), and ``FORMAT AS JSON 'auto
  ignorecase'``, which maps them to the lower-case columns. JSON keeps NULL and the empty
  string apart.
* ``csv`` (Chinook's tables): CSV with a header, ``FORMAT AS CSV IGNOREHEADER 1 EMPTYASNULL``.
  The Chinook parser turns every empty CSV field into NULL, so an empty field always means
  NULL; an empty string reaching this writer is refused rather than silently turned into NULL.

A failed COPY is rolled back (nothing of the ``write()`` lands); the error names the load
file, line, column and Redshift's reason from ``sys_load_error_detail``, and the load files
are kept for inspection. After a successful commit they are deleted, exactly the keys it wrote
(never a prefix; the raw files stay the system of record).

Everything here that can run without a cluster is tested (``music_dwh_tests/resources/
test_redshift.py``): the SQL text, the files and manifest in a real S3 API (moto), the error
message. The COPY itself needs a real cluster (see the README).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
import re
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from music_dwh.resources.base import (
    TableWrite,
    WarehouseError,
    connection_error,
    qualified,
    quote,
    split_table,
)
from music_dwh.resources.postgres import PostgresSession, as_table
from music_dwh.resources.raw_store import RawStore
from music_dwh.settings import WarehouseTarget

LOADS_PREFIX = "_loads/"
# Redshift's longest VARCHAR, in bytes (not characters).
VARCHAR_MAX = 65535
LOAD_ERROR_ROWS = 5
# SYS views are filled asynchronously; how long to wait for the failed COPY's rows.
LOAD_ERROR_WAIT_SECONDS = 10.0


# ---------------------------------------------------------------------------- SQL generation
def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def sql_type(dtype: pa.DataType) -> str:
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return f"varchar({VARCHAR_MAX})"
    if pa.types.is_int64(dtype):
        return "bigint"
    if pa.types.is_int32(dtype):
        return "integer"
    if pa.types.is_int16(dtype):
        return "smallint"
    if pa.types.is_float64(dtype):
        return "double precision"
    if pa.types.is_float32(dtype):
        return "real"
    if pa.types.is_decimal(dtype):
        return f"numeric({dtype.precision},{dtype.scale})"
    if pa.types.is_date(dtype):
        return "date"
    if pa.types.is_timestamp(dtype):
        return "timestamptz" if dtype.tz else "timestamp"
    if pa.types.is_boolean(dtype):
        return "boolean"
    raise TypeError(f"no Redshift type for {dtype}")


def create_schema_sql(table: str) -> str:
    schema, _ = split_table(table)
    return f"create schema if not exists {quote(schema)}"


def create_table_sql(table: str, schema: pa.Schema, sort_columns: Sequence[str] = ()) -> str:
    """Staging table DDL, optionally with a compound sort key."""
    cols = ", ".join(f"{quote(f.name)} {sql_type(f.type)}" for f in schema)
    sort = (
        f" compound sortkey ({', '.join(quote(c) for c in sort_columns)})" if sort_columns else ""
    )
    return f"create table if not exists {qualified(table)} ({cols}){sort}"


def lock_sql(tables: Sequence[str]) -> str:
    return "lock " + ", ".join(qualified(t) for t in dict.fromkeys(tables))


def delete_sql(table: str, replace_where: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """``DELETE`` of the rows a write replaces (psycopg2 ``%s`` parameters)."""
    if replace_where is None:
        return f"delete from {qualified(table)}", []
    conds = " and ".join(f"{quote(col)} = %s" for col in replace_where)
    return f"delete from {qualified(table)} where {conds}", list(replace_where.values())


@dataclass(frozen=True)
class LoadFormat:
    name: str  # json | csv
    extension: str
    copy_options: str


JSON_FORMAT = LoadFormat(
    "json", "json.gz", "format as json 'auto ignorecase' timeformat 'auto' dateformat 'auto'"
)
CSV_FORMAT = LoadFormat(
    "csv", "csv.gz", "format as csv ignoreheader 1 emptyasnull timeformat 'auto' dateformat 'auto'"
)


def load_format(w: TableWrite) -> LoadFormat:
    """The format the write asks for (``TableWrite.file_format``, set by staging)."""
    return CSV_FORMAT if w.file_format == "csv" else JSON_FORMAT


def copy_sql(
    table: str,
    columns: Sequence[str],
    manifest_url: str,
    iam_role: str,
    region: str | None,
    fmt: LoadFormat,
) -> str:
    cols = ", ".join(quote(c) for c in columns)
    parts = [
        f"copy {qualified(table)} ({cols})",
        f"from {literal(manifest_url)}",
        f"iam_role {literal(iam_role)}",
    ]
    if region:
        parts.append(f"region {literal(region)}")
    parts += ["manifest", "gzip", fmt.copy_options, "compupdate off"]
    return " ".join(parts)


# Newest errors of this session's latest failed COPY (session_id is the backend's pid).
LOAD_ERRORS_SQL = (
    "select trim(file_name), line_number, trim(column_name), trim(column_type), "
    "trim(column_length), position, error_code, trim(error_message) "
    "from sys_load_error_detail "
    "where query_id = (select max(query_id) from sys_load_error_detail where session_id = pg_backend_pid()) "
    f"order by line_number limit {LOAD_ERROR_ROWS}"
)


def format_load_errors(
    table: str, rows: Sequence[Sequence[Any]], redshift_message: str, prefix: str
) -> str:
    """A COPY failure as a message an operator can act on: file, line, column and reason."""
    head = f"COPY into {table} failed; nothing of this load was committed (the previous rows are kept)."
    lines = [head]
    for row in rows:
        # The view's CHAR columns come padded with blanks.
        file_name, line, column, column_type, length, position, code, message = (
            v.strip() if isinstance(v, str) else v for v in row
        )
        kind = f"{column_type}({length})" if length and length != "0" else column_type
        lines.append(
            f"  {file_name} line {line}, column {column or '?'}{f' ({kind})' if kind else ''}, "
            f"position {position}: {message} (error {code})"
        )
    if not rows:
        lines.append(f"  Redshift said: {redshift_message.strip()}")
        lines.append(
            "  (no row in sys_load_error_detail for this session yet; query it for details)"
        )
    lines.append(f"The load files are kept under {prefix} for inspection.")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- load files
def partition_label(replace_where: Mapping[str, Any] | None) -> str:
    if not replace_where:
        return "all"
    return "/".join(re.sub(r"[^A-Za-z0-9_.=-]", "_", str(v)) for v in replace_where.values())


def load_prefix(table: str, replace_where: Mapping[str, Any] | None, load_id: str) -> str:
    schema, name = split_table(table)
    return f"{LOADS_PREFIX}{schema}/{name}/{partition_label(replace_where)}/{load_id}/"


def new_load_id() -> str:
    """Sortable and unique: UTC time, then random hex."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"


def manifest_bytes(urls: Sequence[str]) -> bytes:
    entries = [{"url": url, "mandatory": True} for url in urls]
    return (json.dumps({"entries": entries}, indent=2) + "\n").encode()


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # an exact JSON number, never via float
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to a Redshift load file")


def json_lines(table: pa.Table, keys: Mapping[str, str]) -> Iterator[bytes]:
    names = [keys.get(name, name) for name in table.column_names]
    option = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_APPEND_NEWLINE
    for row in table.to_pylist():
        yield orjson.dumps(
            dict(zip(names, row.values(), strict=True)), default=_json_default, option=option
        )


def csv_bytes(table: pa.Table, source: str) -> bytes:
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_string(column.type) and pc.any(pc.equal(column, "")).as_py():
            raise WarehouseError(
                f"{source}: column {name} holds an empty string; Redshift's CSV load (EMPTYASNULL) "
                "would store it as NULL. Load this table as JSON instead (TableWrite.file_format)."
            )
    buffer = io.BytesIO()
    pacsv.write_csv(table, buffer, pacsv.WriteOptions(include_header=True, quoting_style="needed"))
    return buffer.getvalue()


@dataclass
class StagedLoad:
    """One TableWrite's files in S3, ready for COPY."""

    write: TableWrite
    fmt: LoadFormat
    prefix: str  # store key prefix of this load
    manifest_key: str
    manifest_url: str
    file_urls: list[str] = field(default_factory=list)
    rows: int = 0


def stage_write(
    store: RawStore, w: TableWrite, load_id: str, written: list[str] | None = None
) -> StagedLoad:
    """Write ``w``'s rows as gzip'd load files plus their manifest (consumes ``w.batches``).

    ``written`` receives each key as soon as it is written: exactly the keys to delete
    afterwards, even when staging fails half-way."""
    written = [] if written is None else written
    fmt = load_format(w)
    prefix = load_prefix(w.table, w.replace_where, load_id)
    staged = StagedLoad(
        write=w,
        fmt=fmt,
        prefix=prefix,
        manifest_key=f"{prefix}manifest.json",
        manifest_url=store.uri(f"{prefix}manifest.json"),
    )
    keys = dict(w.json_keys) if fmt is JSON_FORMAT else {}
    for batch in w.batches:
        table = as_table(batch, w.schema)
        if table.num_rows == 0:
            continue
        key = f"{prefix}part-{len(staged.file_urls):05d}.{fmt.extension}"
        with store.open_write(key) as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
            if fmt is JSON_FORMAT:
                for line in json_lines(table, keys):
                    gz.write(line)
            else:
                gz.write(csv_bytes(table, f"{w.table} {key}"))
        written.append(key)
        staged.file_urls.append(store.uri(key))
        staged.rows += table.num_rows
    store.write_bytes(staged.manifest_key, manifest_bytes(staged.file_urls))
    written.append(staged.manifest_key)
    w.rows_written = staged.rows
    return staged


# ---------------------------------------------------------------------------- the session
class RedshiftSession(PostgresSession):
    """Reads (``query``, ``columns`` …) as on PostgreSQL; writes through S3 and ``COPY``."""

    engine = "redshift"

    def __init__(self, con, store: RawStore, iam_role: str, region: str | None) -> None:
        super().__init__(con)
        self.store = store
        self.iam_role = iam_role
        self.region = region

    @classmethod
    def open(
        cls,
        target: WarehouseTarget,
        password: str | None,
        store: RawStore,
        iam_role: str | None,
        region: str | None,
    ) -> RedshiftSession:
        if not store.is_s3:
            raise WarehouseError(
                f"the Redshift loader stages rows in S3 for COPY, but the raw store is {store.location}; "
                "set MUSIC_DWH_RAW=s3://bucket/prefix"
            )
        if not iam_role:
            raise WarehouseError(
                "the Redshift loader needs an IAM role that can read the raw bucket: set "
                "MUSIC_DWH_REDSHIFT_IAM_ROLE=arn:aws:iam::<account>:role/<role>"
            )
        import psycopg2

        try:
            # As dagster-aws RedshiftClientResource: psycopg2 over TLS.
            con = psycopg2.connect(
                host=target.host,
                port=target.port,
                user=target.user,
                password=password or None,
                dbname=target.database,
                connect_timeout=10,
                sslmode="require",
            )
        except psycopg2.OperationalError as exc:
            raise connection_error(target, exc, password) from None
        return cls(con, store, iam_role, region)

    # ------------------------------------------------------------------ DDL
    def ensure_table(self, table: str, schema: pa.Schema) -> None:
        if not self.table_exists(table):
            with self.con.cursor() as cur:
                try:
                    cur.execute(create_schema_sql(table))
                    # Sorted on the day when it has one: partition DELETEs then read few blocks.
                    # (From the schema, not from this write: the DDL must not depend on which
                    # load happens to create the table.)
                    sort = [c for c in ("partition_date",) if c in schema.names]
                    cur.execute(create_table_sql(table, schema, sort))
                    self.con.commit()
                except BaseException:
                    self.con.rollback()
                    raise
        self._check_columns(table, schema)

    # ------------------------------------------------------------------ writes
    def write(self, writes: Sequence[TableWrite]) -> None:
        for w in writes:
            self.ensure_table(w.table, w.schema)
        load_id = new_load_id()
        staged: list[StagedLoad] = []
        written: list[str] = []  # only these keys are ever deleted: never a prefix
        try:
            for w in writes:  # in order: a later write's batches may depend on earlier ones
                staged.append(stage_write(self.store, w, load_id, written))
        except BaseException:
            self.store.delete_keys(written)
            raise
        self.load(staged)
        self.store.delete_keys(written)

    def load(self, staged: Sequence[StagedLoad]) -> None:
        """DELETE + COPY of every staged write in one transaction."""
        import psycopg2

        self.con.rollback()
        current: StagedLoad | None = None
        try:
            with self.con.cursor() as cur:
                cur.execute(lock_sql([s.write.table for s in staged]))
                for s in staged:
                    cur.execute(*delete_sql(s.write.table, s.write.replace_where))
                    if s.rows:
                        current = s
                        cur.execute(
                            copy_sql(
                                s.write.table,
                                s.write.schema.names,
                                s.manifest_url,
                                self.iam_role,
                                self.region,
                                s.fmt,
                            )
                        )
                        current = None
            self.con.commit()
        except psycopg2.Error as exc:
            self.con.rollback()
            if current is None:
                raise
            rows = self.load_errors()
            raise WarehouseError(
                format_load_errors(
                    current.write.table, rows, str(exc), self.store.uri(current.prefix)
                )
            ) from None
        except BaseException:
            self.con.rollback()
            raise

    def load_errors(self) -> list[tuple]:
        deadline = time.monotonic() + LOAD_ERROR_WAIT_SECONDS
        while True:
            with self.con.cursor() as cur:
                cur.execute(LOAD_ERRORS_SQL)
                rows = cur.fetchall()
            self.con.rollback()
            if rows or time.monotonic() > deadline:
                return rows
            time.sleep(1.0)
