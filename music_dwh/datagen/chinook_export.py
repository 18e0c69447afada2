"""Export the public Chinook SQLite database into the raw store, in the store's delivery layout.

The layout (keys, tables, columns, primary keys, money columns) is the Chinook source's
contract, :mod:`music_dwh.sources.chinook`; this module only writes it. The
formatting rules the loaders rely on are implemented once, here, and shared with the synthetic
generator (:mod:`music_dwh.datagen.chinook`):

* ``csv`` module, ``QUOTE_MINIMAL``, ``\\n`` line terminator, UTF-8 without BOM;
* NULL is an empty field;
* money (``unit_price``, ``total``) is exact 2-decimal text ("0.99", "13.86"), converted through
  :class:`~decimal.Decimal` and never through float arithmetic;
* datetimes are ``YYYY-MM-DD HH:MM:SS``; integers are plain integers;
* rows are sorted by primary key.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sqlite3
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from music_dwh.datagen.ownership import Output, Writer, writing
from music_dwh.resources.raw_store import RawStore

# The layout is the source's contract (music_dwh/sources/chinook.py); the export follows it.
from music_dwh.sources.chinook import (  # noqa: F401  (re-exported for the generator)
    DATETIME_COLUMNS,
    INTEGER_COLUMNS,
    MONEY_COLUMNS,
    PRIMARY_KEYS,
    REFERENCE_TABLES,
    TABLE_COLUMNS,
    TRANSACTION_TABLES,
    invoice_day_key,
    reference_key,
)
from music_dwh.sources.chinook import PREFIX as CHINOOK_PREFIX

#: A progress callback: receives one human-readable line at a time.
Progress = Callable[[str], None]

_CENT = Decimal("0.01")
_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

#: What it owns of the store: ``chinook/``, as far as it wrote it (generated data is not its own).
WRITER = Writer("export-chinook", (CHINOOK_PREFIX,))


def snake_to_camel(name: str) -> str:
    """The database's name for a layout table or column: ``media_type_id`` → ``MediaTypeId``."""
    return "".join(part.capitalize() for part in name.split("_"))


# --------------------------------------------------------------------------- formatting


def to_money(value: Any) -> Decimal:
    """``value`` as an exact amount in cents.

    Floats (SQLite stores NUMERIC as REAL) go through ``str`` first, so ``0.99`` becomes
    ``Decimal("0.99")`` and not ``0.98999999999999999111...``.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a money amount: {value!r}")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value))
        return amount.quantize(_CENT)
    except InvalidOperation as exc:
        raise ValueError(f"not a money amount: {value!r}") from exc


def format_money(value: Any) -> str:
    """Money as exact 2-decimal text: ``0.99`` → ``"0.99"``, ``Decimal("13.860")`` → ``"13.86"``."""
    return f"{to_money(value):f}"


def format_datetime(value: Any) -> str:
    """A date/datetime (object or ISO text, as SQLite stores it) as ``YYYY-MM-DD HH:MM:SS``."""
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value).strip())
        except ValueError as exc:
            raise ValueError(f"not a date/time: {value!r}") from exc
    return moment.strftime(_DATETIME_FORMAT)


def format_integer(value: Any) -> str:
    """An integer as plain text; integral floats (``3.0``) and digit strings are accepted."""
    if isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return str(int(value))
    raise ValueError(f"not an integer: {value!r}")


def format_value(column: str, value: Any) -> str:
    """One field as delivered: NULL → ``""``, else by column kind (money, datetime, int, text).

    Note that an empty text value is indistinguishable from NULL in the delivered file.
    """
    if value is None:
        return ""
    if column in MONEY_COLUMNS:
        return format_money(value)
    if column in DATETIME_COLUMNS:
        return format_datetime(value)
    if column in INTEGER_COLUMNS:
        return format_integer(value)
    return str(value)


def write_csv(
    store: RawStore | Output, key: str, table: str, rows: Iterable[Sequence[Any]]
) -> tuple[int, int]:
    """Write ``rows`` (raw values, in ``TABLE_COLUMNS[table]`` order) to ``key`` as a delivered CSV.

    Values are formatted by :func:`format_value`; the caller is responsible for the row order
    (by primary key). The write is atomic (see :meth:`RawStore.open_write`).

    Returns ``(rows written, bytes written)``.
    """
    columns = TABLE_COLUMNS[table]
    count = 0
    with store.open_write(key) as fh:
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="", write_through=False)
        try:
            writer = csv.writer(text, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
            writer.writerow(columns)
            for row in rows:
                if len(row) != len(columns):
                    raise ValueError(
                        f"{key}: row has {len(row)} values but {table} has "
                        f"{len(columns)} columns: {row!r}"
                    )
                writer.writerow([format_value(c, v) for c, v in zip(columns, row, strict=True)])
                count += 1
            text.flush()
        finally:
            # Hand the binary handle back to open_write (which closes/uploads it) instead of
            # letting the wrapper close it when garbage-collected.
            text.detach()
        size = fh.tell()
    return count, size


def format_size(size: int) -> str:
    """A byte count for humans: ``532`` → ``"532 B"``, ``1234567`` → ``"1.2 MB"``."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


# --------------------------------------------------------------------------- the export


class ChinookExportError(Exception):
    """The source is not a readable Chinook database; the message says what to do."""


@dataclass(frozen=True)
class ChinookExportSummary:
    """What :func:`export_chinook` wrote.

    ``rows`` maps every table name (``artist`` … ``invoice_line``) to the number of data rows
    written; ``days`` is the number of invoice-day folders; ``files``/``bytes`` cover every
    file written (header rows included).
    """

    source: str
    target: str
    rows: dict[str, int]
    days: int
    first_day: dt.date | None
    last_day: dt.date | None
    files: int
    bytes: int

    @property
    def invoices(self) -> int:
        return self.rows.get("invoice", 0)

    @property
    def invoice_lines(self) -> int:
        return self.rows.get("invoice_line", 0)

    def describe(self) -> str:
        """One human line, e.g. for the CLI."""
        period = f" ({self.first_day} .. {self.last_day})" if self.first_day else ""
        return (
            f"Exported Chinook {self.source} to {self.target}: "
            f"{self.invoices} invoices / {self.invoice_lines} lines on {self.days} days{period}, "
            f"{self.rows.get('track', 0)} tracks, {self.rows.get('customer', 0)} customers; "
            f"{self.files} files, {format_size(self.bytes)}"
        )


def export_chinook(
    sqlite_path: str | Path,
    store: RawStore,
    progress: Progress | None = None,
    force: bool = False,
) -> ChinookExportSummary:
    """Deliver the Chinook SQLite database at ``sqlite_path`` into ``store`` (under ``chinook/``).

    The database is opened read-only and validated (every table and column present) before
    anything in the store is touched; then the reference snapshots plus one
    ``invoices/YYYY/MM/DD`` folder per day with invoices are written, replacing the previous
    export's files. Every day folder holds both ``invoice.csv`` and ``invoice_line.csv``. A
    file under ``chinook/`` that the export did not write stops it before any change
    (``ForeignFilesError``) unless ``force``, and is never removed.

    Raises :class:`ChinookExportError` when the file is missing, is not an SQLite database,
    lacks a Chinook table/column, or holds data the layout cannot represent.
    """
    say = progress or (lambda _message: None)
    path = Path(sqlite_path).expanduser().resolve()
    with closing(_connect_read_only(path)) as conn:
        _check_schema(conn, path)
        invoices_by_day, lines_by_day = _read_invoices(conn, path)

        rows: dict[str, int] = {}
        files = size = 0
        with writing(store, WRITER, force) as out:
            for table in REFERENCE_TABLES:
                key = reference_key(table)
                count, written = _write(out, key, table, _select(conn, table, path), path)
                rows[table] = count
                files += 1
                size += written
                say(f"{key}: {count} rows")

            days = sorted(invoices_by_day)
            rows["invoice"] = rows["invoice_line"] = 0
            for number, day in enumerate(days, start=1):
                for table, by_day in (("invoice", invoices_by_day), ("invoice_line", lines_by_day)):
                    key = invoice_day_key(day, table)
                    count, written = _write(out, key, table, by_day.get(day, []), path)
                    rows[table] += count
                    files += 1
                    size += written
                if number % 50 == 0 or number == len(days):
                    say(f"invoices: {number}/{len(days)} days written (up to {day})")
    if out.removed:
        say(f"removed {out.removed} files of the previous export that this one did not write")

    return ChinookExportSummary(
        source=str(path),
        target=store.uri(CHINOOK_PREFIX),
        rows=rows,
        days=len(days),
        first_day=days[0] if days else None,
        last_day=days[-1] if days else None,
        files=files,
        bytes=size,
    )


def _write(
    store: Output, key: str, table: str, rows: Iterable[Sequence[Any]], path: Path
) -> tuple[int, int]:
    """:func:`write_csv`, turning a value the layout cannot represent into a clear error."""
    try:
        return write_csv(store, key, table, rows)
    except ValueError as exc:
        raise ChinookExportError(
            f"{path}: table {snake_to_camel(table)} holds a value the raw layout cannot "
            f"represent ({exc}); fix the database or use the public Chinook file."
        ) from exc


def _connect_read_only(path: Path) -> sqlite3.Connection:
    if not path.exists():
        raise ChinookExportError(
            f"{path}: no such file. Point the export at the Chinook SQLite database "
            "(Chinook_Sqlite.sqlite from https://github.com/lerocha/chinook-database)."
        )
    if not path.is_file():
        raise ChinookExportError(
            f"{path}: is not a file. Give the path of the Chinook .sqlite file itself."
        )
    try:
        # mode=ro: never create or modify the source (the public copy is read-only).
        return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise ChinookExportError(f"{path}: cannot open as an SQLite database ({exc}).") from exc


def _check_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Every Chinook table and column must exist; report all that are missing at once."""
    try:
        tables = {
            name.lower(): name
            for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except sqlite3.DatabaseError as exc:
        raise ChinookExportError(
            f"{path}: is not an SQLite database ({exc}). Expected the Chinook SQLite file "
            "(Chinook_Sqlite.sqlite), not the SQL script or another format."
        ) from exc
    missing_tables: list[str] = []
    missing_columns: list[str] = []
    for table, columns in TABLE_COLUMNS.items():
        source = snake_to_camel(table)
        if source.lower() not in tables:
            missing_tables.append(source)
            continue
        info = conn.execute(f'PRAGMA table_info("{tables[source.lower()]}")')
        present = {row[1].lower() for row in info}
        missing_columns += [
            f"{source}.{snake_to_camel(c)}"
            for c in columns
            if snake_to_camel(c).lower() not in present
        ]
    if missing_tables or missing_columns:
        what = []
        if missing_tables:
            what.append(f"missing table(s) {', '.join(missing_tables)}")
        if missing_columns:
            what.append(f"missing column(s) {', '.join(missing_columns)}")
        raise ChinookExportError(
            f"{path}: is not a Chinook database ({'; '.join(what)}). Use the SQLite edition of "
            "the Chinook database (Chinook_Sqlite.sqlite from "
            "https://github.com/lerocha/chinook-database)."
        )


def _select(conn: sqlite3.Connection, table: str, path: Path) -> Iterable[tuple[Any, ...]]:
    """All rows of ``table`` in the layout's column order, sorted by primary key."""
    columns = ", ".join(f'"{snake_to_camel(c)}"' for c in TABLE_COLUMNS[table])
    order = ", ".join(f'"{snake_to_camel(c)}"' for c in PRIMARY_KEYS[table])
    sql = f'SELECT {columns} FROM "{snake_to_camel(table)}" ORDER BY {order}'
    try:
        yield from conn.execute(sql)
    except sqlite3.Error as exc:
        raise ChinookExportError(
            f"{path}: cannot read table {snake_to_camel(table)} ({exc})."
        ) from exc


def _read_invoices(
    conn: sqlite3.Connection, path: Path
) -> tuple[dict[dt.date, list[tuple[Any, ...]]], dict[dt.date, list[tuple[Any, ...]]]]:
    """Invoices and invoice lines grouped by invoice day, each day's rows sorted by primary key.

    Chinook is small (hundreds of invoices), so the transactions are grouped in memory; every
    line must belong to an existing invoice, whose day it takes.
    """
    invoices_by_day: dict[dt.date, list[tuple[Any, ...]]] = defaultdict(list)
    day_of_invoice: dict[int, dt.date] = {}
    date_index = TRANSACTION_TABLES["invoice"].index("invoice_date")
    for row in _select(conn, "invoice", path):
        try:
            day = dt.date.fromisoformat(format_datetime(row[date_index])[:10])
        except ValueError as exc:
            raise ChinookExportError(
                f"{path}: invoice {row[0]} has an invalid InvoiceDate ({exc})."
            ) from exc
        invoices_by_day[day].append(row)
        day_of_invoice[row[0]] = day

    lines_by_day: dict[dt.date, list[tuple[Any, ...]]] = defaultdict(list)
    invoice_index = TRANSACTION_TABLES["invoice_line"].index("invoice_id")
    for row in _select(conn, "invoice_line", path):
        day = day_of_invoice.get(row[invoice_index])
        if day is None:
            raise ChinookExportError(
                f"{path}: invoice line {row[0]} refers to invoice {row[invoice_index]}, which does "
                "not exist; the database is inconsistent (re-download the Chinook database)."
            )
        lines_by_day[day].append(row)
    return dict(invoices_by_day), dict(lines_by_day)
