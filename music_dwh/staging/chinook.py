"""Chinook raw CSV files → staging rows: parsing, validation and quarantine.

Rules (documented in the README's data-quality section):

* A raw record is one CSV data row (the header is not a record). Line numbers are the file's
  physical line where the row ends, the header being line 1.
* A header that differs from the expected columns rejects every row of that file (each row is
  quarantined with the header problem as its reason): the columns cannot be trusted.
* A row with too many or too few fields, a non-numeric id or amount, money with more than two
  decimals, a negative quantity or price, a bad datetime, or a repeated primary key is quarantined.
* Every number and date has a physical range (``BOUNDS``: keys 1 … 2^31 - 1, prices up to
  999.99, quantities 1 … 1,000, invoices up to 999,999.99, invoice dates in 2000 … 2099 …); a
  value outside it is quarantined naming the column, the value and the accepted range.
* Invoice days are loaded as a unit, invoices and their lines in one transaction: a line whose
  invoice is not in that day's invoice file, or whose track is not in the track snapshot, is
  quarantined; an invoice whose total differs from the sum of its lines is quarantined with all
  its lines (the facts stay consistent; the quarantine shows both figures).
* A day without a folder is a day without sales: an empty partition, not an error.
* Money stays exact: ``Decimal`` in Python, ``DECIMAL(10,2)`` in the warehouse.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pyarrow as pa

from music_dwh.datagen.chinook_export import (
    DATETIME_COLUMNS,
    INTEGER_COLUMNS,
    MONEY_COLUMNS,
    PRIMARY_KEYS,
    REFERENCE_TABLES,
    TRANSACTION_TABLES,
    invoice_day_key,
    reference_key,
)
from music_dwh.resources.raw_store import RawObject, RawStore
from music_dwh.resources.warehouse import TableWrite, WarehouseSession
from music_dwh.staging.common import (
    INT32_MAX,
    QUARANTINE_SCHEMA,
    Bound,
    LoadStats,
    raw_text,
    utc_now,
)

SCHEMA = "chinook"
QUARANTINE_TABLE = f"{SCHEMA}.quarantine"
INVOICE_PREFIX = "chinook/invoices/"
MONEY = pa.decimal128(10, 2)
_CENT = Decimal("0.01")
# Columns that may never be empty (the Chinook schema's NOT NULL columns).
REQUIRED = {
    "album": {"title", "artist_id"},
    "track": {"name", "media_type_id", "milliseconds", "unit_price"},
    "customer": {"first_name", "last_name", "email"},
    "employee": {"last_name", "first_name"},
    "invoice": {"customer_id", "invoice_date", "total"},
    "invoice_line": {"invoice_id", "track_id", "unit_price", "quantity"},
}
NON_NEGATIVE = {"quantity", "unit_price", "milliseconds", "bytes"}
# Physical ranges (the README's table says why each). Keys are positive 32-bit integers (the
# Chinook schema's INT identity columns). Money bounds keep every mart sum exact in
# DECIMAL(18,2): a line is at most 999.99 × 1,000 < 10^6, an invoice at most 999,999.99, so a
# sum over at most 2^31 - 1 invoices or lines stays below 2.2 × 10^15 < 10^16.
_KEY = Bound(1, INT32_MAX, "1 to 2,147,483,647")
_LAST_DAY = dt.datetime(2099, 12, 31, 23, 59, 59, 999_999)
BOUNDS: dict[str, Bound] = {
    **{c: _KEY for c in INTEGER_COLUMNS if c.endswith("_id") or c == "reports_to"},
    "milliseconds": Bound(0, 86_400_000, "0 to 86,400,000 (one day)"),
    "bytes": Bound(0, 10**12, "0 to 1,000,000,000,000 (1 TB)"),
    "quantity": Bound(1, 1_000, "1 to 1,000"),
    "unit_price": Bound(Decimal("0.00"), Decimal("999.99"), "0.00 to 999.99"),
    "total": Bound(Decimal("0.00"), Decimal("999999.99"), "0.00 to 999,999.99"),
    "invoice_date": Bound(dt.datetime(2000, 1, 1), _LAST_DAY, "2000-01-01 to 2099-12-31"),
    "birth_date": Bound(dt.datetime(1900, 1, 1), _LAST_DAY, "1900-01-01 to 2099-12-31"),
    "hire_date": Bound(dt.datetime(1900, 1, 1), _LAST_DAY, "1900-01-01 to 2099-12-31"),
}
# Every number and date has its range: nothing staged can overflow a column or a mart.
assert set(BOUNDS) == INTEGER_COLUMNS | MONEY_COLUMNS | DATETIME_COLUMNS


def staging_table(table: str) -> str:
    return f"{SCHEMA}.staging_{table}"


def _arrow_type(column: str) -> pa.DataType:
    if column in MONEY_COLUMNS:
        return MONEY
    if column in DATETIME_COLUMNS:
        return pa.timestamp("us")
    if column in INTEGER_COLUMNS:
        return pa.int64()
    return pa.string()


_LINEAGE = [("source_file", pa.string()), ("source_line", pa.int64()), ("loaded_at", pa.timestamp("us"))]


def staging_schema(table: str) -> pa.Schema:
    columns = {**REFERENCE_TABLES, **TRANSACTION_TABLES}[table]
    fields = [(c, _arrow_type(c)) for c in columns]
    if table in TRANSACTION_TABLES:
        fields.append(("partition_date", pa.date32()))
    return pa.schema(fields + _LINEAGE)


class RowError(ValueError):
    """Why one CSV row cannot be staged (becomes its quarantine reason)."""


def _convert(table: str, column: str, text: str):
    if text == "":
        if column in REQUIRED.get(table, ()) or column in PRIMARY_KEYS[table]:
            raise RowError(f"column '{column}' is empty")
        return None
    if column in MONEY_COLUMNS:
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise RowError(f"column '{column}': {text!r:.40} is not an amount") from None
        if not value.is_finite():
            raise RowError(f"column '{column}': {text!r:.40} is not an amount with at most two decimals")
        if column in NON_NEGATIVE and value < 0:
            raise RowError(f"column '{column}': {text:.40} is negative")
        _check_bound(column, value, text)  # before quantize, which fails on 1e30
        if value != value.quantize(_CENT):
            raise RowError(f"column '{column}': {text!r:.40} is not an amount with at most two decimals")
        return value.quantize(_CENT)
    if column in INTEGER_COLUMNS:
        try:
            value = int(text)
        except ValueError:
            raise RowError(f"column '{column}': {text!r:.40} is not a whole number") from None
        if column in NON_NEGATIVE and value < 0:
            raise RowError(f"column '{column}': {text:.40} is negative")
        _check_bound(column, value, text)
        return value
    if column in DATETIME_COLUMNS:
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            value = None
        if value is None or value.tzinfo is not None:  # the delivery has no time zones
            raise RowError(f"column '{column}': {text!r:.40} is not a date-time (YYYY-MM-DD HH:MM:SS)")
        _check_bound(column, value, text)
        return value
    if "\ufffd" in text:
        raise RowError(f"column '{column}': invalid UTF-8 bytes in the text")
    return text


def _check_bound(column: str, value, text: str) -> None:
    bound = BOUNDS[column]
    if not bound.admits(value):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise RowError(f"column '{column}': {shown} is out of range (accepted: {bound.accepted})")


@dataclass
class ParsedRow:
    line: int
    raw: str
    values: list


def _rows(store: RawStore, key: str, table: str, stats: LoadStats) -> Iterator[ParsedRow]:
    """Validated rows of one CSV file; bad rows go to ``stats`` with their reason."""
    columns = {**REFERENCE_TABLES, **TRANSACTION_TABLES}[table]
    pk = [columns.index(c) for c in PRIMARY_KEYS[table]]
    seen_keys: dict[tuple, int] = {}
    with store.open(key) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text)
        header = next(reader, None)
        header_error = None
        if header is None:
            return  # an empty file: no records
        if [h.strip() for h in header] != list(columns):
            header_error = (
                f"header {','.join(header)[:200]!r} does not match the expected columns "
                f"{','.join(columns)!r}; every row of this file is quarantined"
            )
        for fields in reader:
            line = reader.line_num
            if not fields or fields == [""]:
                continue  # a blank line is not a record
            stats.records += 1
            raw = _csv_text(fields)
            try:
                if header_error:
                    raise RowError(header_error)
                if len(fields) != len(columns):
                    raise RowError(f"{len(fields)} fields, expected {len(columns)} ({','.join(columns)})")
                values = [_convert(table, c, f) for c, f in zip(columns, fields, strict=True)]
                key_values = tuple(values[i] for i in pk)
                if key_values in seen_keys:
                    raise RowError(
                        f"duplicate {'/'.join(PRIMARY_KEYS[table])} {key_values if len(pk) > 1 else key_values[0]} "
                        f"(first at line {seen_keys[key_values]})"
                    )
            except RowError as exc:
                stats.reject(key, line, raw, str(exc))
                continue
            seen_keys[key_values] = line
            yield ParsedRow(line, raw, values)


def _csv_text(fields: list[str]) -> str:
    """The row as CSV text again (quoting restored), for the quarantine's raw_text."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return raw_text(out.getvalue().encode())


def _batch(schema: pa.Schema, rows: list[list]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.RecordBatch.from_arrays(
        [pa.array(list(col), type=f.type) for col, f in zip(columns, schema, strict=True)], schema=schema
    )


def _quarantine(stats_list: list[LoadStats], threshold: float, loaded_at: dt.datetime) -> Iterator[pa.RecordBatch]:
    for stats in stats_list:
        stats.check_threshold(threshold)
    for stats in stats_list:
        yield from stats.quarantine_batches(loaded_at)


# ------------------------------------------------------------------------ reference snapshots
def load_reference_table(
    store: RawStore, session: WarehouseSession, table: str, threshold: float
) -> LoadStats:
    """Replace ``staging_<table>`` (and its quarantine rows) with the delivered snapshot."""
    loaded_at = utc_now()
    key = reference_key(table)
    stats = LoadStats(target_table=f"staging_{table}", partition_date=None)
    schema = staging_schema(table)
    objects = [o for o in store.list(key) if o.key == key]
    rows: list[list] = []
    if objects:
        stats.files, stats.bytes = 1, objects[0].size
        rows = [[*r.values, key, r.line, loaded_at] for r in _rows(store, key, table, stats)]
    stats.loaded = len(rows)
    session.write(
        [
            TableWrite(staging_table(table), schema, [_batch(schema, rows)]),
            TableWrite(
                QUARANTINE_TABLE,
                QUARANTINE_SCHEMA,
                _quarantine([stats], threshold, loaded_at),
                replace_where={"target_table": stats.target_table},
            ),
        ]
    )
    return stats


# ------------------------------------------------------------------------ invoice days
def invoice_day_prefix(day: dt.date) -> str:
    return f"{INVOICE_PREFIX}{day:%Y/%m/%d}/"


def known_ids(session: WarehouseSession, table: str, column: str) -> set[int]:
    target = staging_table(table)
    if not session.table_exists(target):
        return set()
    return {r[0] for r in session.query(f'select "{column}" from "{SCHEMA}"."staging_{table}"')}


def invoice_files_by_day(store: RawStore, first: dt.date, last: dt.date) -> dict[dt.date, dict[str, RawObject]]:
    """The delivered invoice files of [first, last], by day, from one listing of the store."""
    by_day: dict[dt.date, dict[str, RawObject]] = {}
    for obj in store.list(INVOICE_PREFIX):
        parts = obj.key[len(INVOICE_PREFIX) :].split("/")
        try:
            day = dt.date(int(parts[0]), int(parts[1]), int(parts[2]))
        except (ValueError, IndexError):
            continue
        if first <= day <= last:
            by_day.setdefault(day, {})[obj.key] = obj
    return by_day


def days_with_rows(session: WarehouseSession, first: dt.date, last: dt.date) -> set[dt.date]:
    """Days of [first, last] that already have staged or quarantined invoice rows."""
    days: set[dt.date] = set()
    for table in (staging_table("invoice"), staging_table("invoice_line"), QUARANTINE_TABLE):
        if session.table_exists(table):
            schema, name = table.split(".")
            rows = session.query(
                f'select distinct partition_date from "{schema}"."{name}" '
                "where partition_date >= ? and partition_date <= ?",
                [first, last],
            )
            days |= {d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)) for (d,) in rows}
    return days


def load_invoice_day(
    store: RawStore,
    session: WarehouseSession,
    day: dt.date,
    threshold: float,
    track_ids: set[int],
    customer_ids: set[int],
    present: dict[str, RawObject] | None = None,
) -> tuple[LoadStats, LoadStats]:
    """Replace ``staging_invoice`` and ``staging_invoice_line`` for ``day`` in one transaction.

    ``present``: the day's delivered files when the caller already listed them.
    """
    loaded_at = utc_now()
    inv_stats = LoadStats(target_table="staging_invoice", partition_date=day)
    line_stats = LoadStats(target_table="staging_invoice_line", partition_date=day)
    if present is None:
        present = {o.key: o for o in store.list(invoice_day_prefix(day))}
    invoices: dict[int, ParsedRow] = {}
    lines: list[ParsedRow] = []
    inv_key, line_key = invoice_day_key(day, "invoice"), invoice_day_key(day, "invoice_line")
    if inv_key in present:
        inv_stats.files, inv_stats.bytes = 1, present[inv_key].size
        for row in _rows(store, inv_key, "invoice", inv_stats):
            if row.values[1] not in customer_ids:
                inv_stats.reject(inv_key, row.line, row.raw, f"customer_id {row.values[1]} is not in the customer snapshot")
                continue
            invoice_date = row.values[2]
            if invoice_date.date() != day:
                inv_stats.reject(
                    inv_key, row.line, row.raw, f"invoice_date {invoice_date} is not the folder's day {day}"
                )
                continue
            invoices[row.values[0]] = row
    if line_key in present:
        line_stats.files, line_stats.bytes = 1, present[line_key].size
        for row in _rows(store, line_key, "invoice_line", line_stats):
            invoice_id, track_id = row.values[1], row.values[2]
            if invoice_id not in invoices:
                line_stats.reject(line_key, row.line, row.raw, f"invoice_id {invoice_id} is not in this day's invoice file")
            elif track_id not in track_ids:
                line_stats.reject(line_key, row.line, row.raw, f"track_id {track_id} is not in the track snapshot")
            else:
                lines.append(row)
    # An invoice must equal its lines to the cent; otherwise both sides wait in quarantine.
    sums: dict[int, Decimal] = {}
    for row in lines:
        sums[row.values[1]] = sums.get(row.values[1], Decimal("0.00")) + row.values[3] * row.values[4]
    bad = {
        invoice_id: sums.get(invoice_id, Decimal("0.00"))
        for invoice_id, row in invoices.items()
        if row.values[8] != sums.get(invoice_id, Decimal("0.00"))
    }
    for invoice_id, line_sum in sorted(bad.items()):
        row = invoices.pop(invoice_id)
        inv_stats.reject(inv_key, row.line, row.raw, f"total {row.values[8]} differs from the sum of its lines {line_sum}")
    kept_lines = []
    for row in lines:
        if row.values[1] in bad:
            line_stats.reject(line_key, row.line, row.raw, f"its invoice {row.values[1]} is quarantined (total differs from its lines)")
        else:
            kept_lines.append(row)
    inv_stats.loaded, line_stats.loaded = len(invoices), len(kept_lines)
    inv_schema, line_schema = staging_schema("invoice"), staging_schema("invoice_line")
    inv_rows = [[*r.values, day, inv_key, r.line, loaded_at] for r in sorted(invoices.values(), key=lambda r: r.line)]
    line_rows = [[*r.values, day, line_key, r.line, loaded_at] for r in kept_lines]
    session.write(
        [
            TableWrite(staging_table("invoice"), inv_schema, [_batch(inv_schema, inv_rows)], {"partition_date": day}),
            TableWrite(staging_table("invoice_line"), line_schema, [_batch(line_schema, line_rows)], {"partition_date": day}),
            TableWrite(
                QUARANTINE_TABLE,
                QUARANTINE_SCHEMA,
                _quarantine([inv_stats, line_stats], threshold, loaded_at),
                replace_where={"partition_date": day},
            ),
        ]
    )
    return inv_stats, line_stats


def count_records(store: RawStore, key: str) -> int:
    """CSV data rows in ``key`` (header and blank lines excluded), counted independently of the
    loader's validation: what reconciliation compares with staged + quarantined."""
    if not store.exists(key):
        return 0
    with store.open(key) as fh:
        reader = csv.reader(io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline=""))
        return sum(1 for i, fields in enumerate(reader) if i > 0 and fields and fields != [""])


def invoice_days_between(store: RawStore, first: dt.date, last: dt.date) -> list[dt.date]:
    return [d for d in invoice_days(store) if first <= d <= last]


def invoice_days(store: RawStore) -> list[dt.date]:
    """Every day with an invoice folder in the raw store, sorted."""
    days = set()
    for obj in store.list(INVOICE_PREFIX):
        parts = obj.key[len(INVOICE_PREFIX) :].split("/")
        if len(parts) == 4:
            try:
                days.add(dt.date(int(parts[0]), int(parts[1]), int(parts[2])))
            except ValueError:
                continue
    return sorted(days)
