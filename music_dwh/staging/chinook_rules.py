"""Chinook's record rules, one CSV row at a time: fields, types, money to the cent, physical
ranges, the header, with the reason texts the quarantine keeps (the rules are listed in
``chinook.py``'s docstring and the README).

They are the reference: ``chinook_duckdb.py`` judges whole files a column at a time and hands
these rules every record it cannot judge exactly; the tests compare both paths record for record.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import pyarrow as pa

from music_dwh.resources.raw_store import RawStore
from music_dwh.sources import chinook as source
from music_dwh.sources.chinook import (  # noqa: F401 - the judge reads them here, as the rules do
    DATETIME_COLUMNS,
    INTEGER_COLUMNS,
    MONEY_COLUMNS,
    PRIMARY_KEYS,
    REFERENCE_TABLES,
    TABLE_COLUMNS,
    TRANSACTION_TABLES,
    column_index,
)
from music_dwh.staging.common import (
    INT32_MAX,
    LINEAGE,
    Bound,
    LoadStats,
    RecordError,
    nul_reason,
    raw_text,
)

SCHEMA = source.SYSTEM

# Delivered columns the day's rules read, by name.
_INVOICE_ID = column_index("invoice", "invoice_id")
_INVOICE_CUSTOMER = column_index("invoice", "customer_id")
_INVOICE_DATE = column_index("invoice", "invoice_date")
_INVOICE_TOTAL = column_index("invoice", "total")
_LINE_INVOICE = column_index("invoice_line", "invoice_id")
_LINE_TRACK = column_index("invoice_line", "track_id")
_LINE_PRICE = column_index("invoice_line", "unit_price")
_LINE_QUANTITY = column_index("invoice_line", "quantity")
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


def staging_schema(table: str) -> pa.Schema:
    columns = TABLE_COLUMNS[table]
    fields = [(c, _arrow_type(c)) for c in columns]
    if table in TRANSACTION_TABLES:
        fields.append(("partition_date", pa.date32()))
    return pa.schema(fields + LINEAGE)


RowError = RecordError  # one CSV row's quarantine reason


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
            raise RowError(
                f"column '{column}': {text!r:.40} is not an amount with at most two decimals"
            )
        if column in NON_NEGATIVE and value < 0:
            raise RowError(f"column '{column}': {text:.40} is negative")
        _check_bound(column, value, text)  # before quantize, which fails on 1e30
        if value != value.quantize(_CENT):
            raise RowError(
                f"column '{column}': {text!r:.40} is not an amount with at most two decimals"
            )
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
            raise RowError(
                f"column '{column}': {text!r:.40} is not a date-time (YYYY-MM-DD HH:MM:SS)"
            )
        _check_bound(column, value, text)
        return value
    if "\ufffd" in text:
        raise RowError(f"column '{column}': invalid UTF-8 bytes in the text")
    if "\x00" in text:
        raise RowError(nul_reason(f"column '{column}'"))
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
    with store.open(key) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8-sig", errors="replace", newline="")
        yield from _parsed_rows(text, key, table, stats)


def _parsed_rows(
    text: Iterator[str] | str, key: str, table: str, stats: LoadStats
) -> Iterator[ParsedRow]:
    """``_rows`` over decoded text (a stream, or the whole file as one string)."""
    if isinstance(text, str):
        text = io.StringIO(text, newline="")
    columns = {**REFERENCE_TABLES, **TRANSACTION_TABLES}[table]
    pk = [columns.index(c) for c in PRIMARY_KEYS[table]]
    seen_keys: dict[tuple, int] = {}
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        return  # an empty file: no records
    header_error = _header_error(header, columns)
    for fields in reader:
        line = reader.line_num
        if not fields or fields == [""]:
            continue  # a blank line is not a record
        stats.records += 1
        raw = _csv_text(fields)
        try:
            values = _record_values(table, columns, fields, header_error)
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


def _header_error(header: list[str], columns: tuple[str, ...]) -> str | None:
    if [h.strip() for h in header] != list(columns):
        return (
            f"header {','.join(header)[:200]!r} does not match the expected columns "
            f"{','.join(columns)!r}; every row of this file is quarantined"
        )
    return None


def _record_values(
    table: str, columns: tuple[str, ...], fields: list[str], header_error: str | None
) -> list:
    """One record's staging values (its key not yet compared), or ``RowError``."""
    if header_error:
        raise RowError(header_error)
    if len(fields) != len(columns):
        raise RowError(f"{len(fields)} fields, expected {len(columns)} ({','.join(columns)})")
    return [_convert(table, c, f) for c, f in zip(columns, fields, strict=True)]


def _csv_text(fields: list[str]) -> str:
    """The row as CSV text again (quoting restored), for the quarantine's raw_text."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(fields)
    return raw_text(out.getvalue().encode())


def _batch(schema: pa.Schema, rows: list[list]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pa.RecordBatch.from_arrays(
        [pa.array(list(col), type=f.type) for col, f in zip(columns, schema, strict=True)],
        schema=schema,
    )
