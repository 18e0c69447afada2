"""Chinook (the digital music store): what it delivers into the raw store, and how.

CSV files (header row, UTF-8, no BOM)::

    chinook/reference/{artist,album,track,genre,media_type,playlist,playlist_track,
                       customer,employee}.csv          # snapshots, replaced whole
    chinook/invoices/YYYY/MM/DD/invoice.csv             # one folder per day with sales
    chinook/invoices/YYYY/MM/DD/invoice_line.csv

Column names are the Chinook database's own in snake_case and in the database's order. NULL
is an empty field; money is exact 2-decimal text; datetimes are ``YYYY-MM-DD HH:MM:SS``.
Anything else under the prefixes (other names, hidden files, impossible dates) is outside the
layout: the sensors ignore it and ``music-dwh load`` does not load it.
"""

from __future__ import annotations

import datetime as dt
import re

SYSTEM = "chinook"
#: Everything the Chinook source delivers lives under this prefix of the raw store.
PREFIX = f"{SYSTEM}/"
REFERENCE_PREFIX = f"{PREFIX}reference/"
INVOICE_PREFIX = f"{PREFIX}invoices/"
# Where the daily deliveries land (what a day's partition reads).
DAILY_PREFIX = INVOICE_PREFIX

# UI text and names of what is generated per system (partitions.py, automation/).
TITLE = "Chinook"
JOB_DESCRIPTION = (
    "Every Chinook asset (reference snapshots and invoice days → staging → star "
    "schema → sales marts) and its checks, for a day or a range of days (one run)."
)
DAILY_SENSOR = "chinook_invoice_sensor"
DAILY_SENSOR_DESCRIPTION = (
    "Loads each day whose Chinook invoice files are new or re-delivered: one run per day."
)

#: Reference snapshots, in delivery order, with their columns in the database's column order.
REFERENCE_TABLES: dict[str, tuple[str, ...]] = {
    "artist": ("artist_id", "name"),
    "album": ("album_id", "title", "artist_id"),
    "track": (
        "track_id",
        "name",
        "album_id",
        "media_type_id",
        "genre_id",
        "composer",
        "milliseconds",
        "bytes",
        "unit_price",
    ),
    "genre": ("genre_id", "name"),
    "media_type": ("media_type_id", "name"),
    "playlist": ("playlist_id", "name"),
    "playlist_track": ("playlist_id", "track_id"),
    "customer": (
        "customer_id",
        "first_name",
        "last_name",
        "company",
        "address",
        "city",
        "state",
        "country",
        "postal_code",
        "phone",
        "fax",
        "email",
        "support_rep_id",
    ),
    "employee": (
        "employee_id",
        "last_name",
        "first_name",
        "title",
        "reports_to",
        "birth_date",
        "hire_date",
        "address",
        "city",
        "state",
        "country",
        "postal_code",
        "phone",
        "fax",
        "email",
    ),
}

# The staging tables of the snapshot deliveries a day's run reads (invoice lines are checked
# against the track and customer snapshots): when one is reloaded, a day whose latest run failed
# is requested again (automation/sensors.py).
SNAPSHOT_STAGING_TABLES: tuple[str, ...] = tuple(f"staging_{t}" for t in REFERENCE_TABLES)

#: Transaction tables, delivered once per day of sales.
TRANSACTION_TABLES: dict[str, tuple[str, ...]] = {
    "invoice": (
        "invoice_id",
        "customer_id",
        "invoice_date",
        "billing_address",
        "billing_city",
        "billing_state",
        "billing_country",
        "billing_postal_code",
        "total",
    ),
    "invoice_line": ("invoice_line_id", "invoice_id", "track_id", "unit_price", "quantity"),
}

#: Every table's columns (reference tables first, then transactions).
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {**REFERENCE_TABLES, **TRANSACTION_TABLES}

#: Primary key of every table; files are sorted by it.
PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    table: (("playlist_id", "track_id") if table == "playlist_track" else (f"{table}_id",))
    for table in TABLE_COLUMNS
}

#: Columns written as exact 2-decimal money text.
MONEY_COLUMNS = frozenset({"unit_price", "total"})
#: Columns written as ``YYYY-MM-DD HH:MM:SS``.
DATETIME_COLUMNS = frozenset({"birth_date", "hire_date", "invoice_date"})
#: Columns written as plain integers (every ``*_id`` plus a few measures).
INTEGER_COLUMNS = frozenset(
    {c for cols in TABLE_COLUMNS.values() for c in cols if c.endswith("_id")}
    | {"reports_to", "milliseconds", "bytes", "quantity"}
)


def column_index(table: str, column: str) -> int:
    """The position of ``column`` in a delivered row of ``table``."""
    return TABLE_COLUMNS[table].index(column)


def reference_key(table: str) -> str:
    """Raw-store key of a reference snapshot, e.g. ``chinook/reference/track.csv``."""
    if table not in REFERENCE_TABLES:
        raise ValueError(f"{table!r} is not a reference table ({', '.join(REFERENCE_TABLES)})")
    return f"{REFERENCE_PREFIX}{table}.csv"


_REFERENCE_KEYS = {reference_key(table): table for table in REFERENCE_TABLES}


def reference_table_of(key: str) -> str | None:
    """The reference table a key delivers, or None when the key is not a snapshot's."""
    return _REFERENCE_KEYS.get(key)


def invoice_day_prefix(day: dt.date) -> str:
    """The folder of one day's transaction files."""
    return f"{INVOICE_PREFIX}{day:%Y/%m/%d}/"


def invoice_day_key(day: dt.date, table: str) -> str:
    """Raw-store key of one day's transaction file (``chinook/invoices/2021/01/01/invoice.csv``)."""
    if table not in TRANSACTION_TABLES:
        raise ValueError(f"{table!r} is not a transaction table ({', '.join(TRANSACTION_TABLES)})")
    return f"{invoice_day_prefix(day)}{table}.csv"


key_for = invoice_day_key
EXAMPLE_KEY = key_for(dt.date(2021, 1, 1), "invoice")

_INVOICE_KEY = re.compile(
    re.escape(INVOICE_PREFIX)
    + r"(\d{4})/(\d{2})/(\d{2})/("
    + "|".join(map(re.escape, TRANSACTION_TABLES))
    + r")\.csv"
)


def parse_invoice_key(key: str) -> tuple[dt.date, str] | None:
    """(day, transaction table) of an invoice key, or None when the key is not in the layout."""
    m = _INVOICE_KEY.fullmatch(key)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])), m[4]
    except ValueError:  # 2021/02/30
        return None


def day_of(key: str) -> dt.date | None:
    """The day of an invoice key, or None when the key is not in the invoice layout."""
    parsed = parse_invoice_key(key)
    return parsed[0] if parsed else None
