"""Export of the public Chinook SQLite database into the raw-store layout.

Every expectation is computed from the database itself (queried with sqlite3 here), never
hard-coded, so the tests hold for any release of the Chinook database.
"""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from music_dwh.datagen.chinook_export import (
    ChinookExportError,
    ChinookExportSummary,
    export_chinook,
)
from music_dwh.resources.raw_store import RawStore, open_raw_store

REPO_ROOT = Path(__file__).resolve().parents[2]
CHINOOK_DB = REPO_ROOT.parent / "shared" / "data" / "chinook" / "Chinook_Sqlite.sqlite"

REFERENCE = (
    "artist", "album", "track", "genre", "media_type", "playlist", "playlist_track",
    "customer", "employee",
)  # fmt: skip
PRIMARY_KEYS = {"playlist_track": ("playlist_id", "track_id")}
MONEY = re.compile(r"^-?\d+\.\d{2}$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DAY_FOLDER = re.compile(r"^chinook/invoices/(\d{4})/(\d{2})/(\d{2})/(invoice|invoice_line)\.csv$")

needs_db = pytest.mark.skipif(
    not CHINOOK_DB.is_file(),
    reason=f"public Chinook database not found at {CHINOOK_DB} (put Chinook_Sqlite.sqlite there)",
)


def camel(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def snake(camel_name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", camel_name).lower()


def read_csv(store: RawStore, key: str) -> tuple[list[str], list[dict[str, str]]]:
    text = store.read_bytes(key).decode("utf-8")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def db_columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [snake(row[1]) for row in conn.execute(f"PRAGMA table_info([{camel(table)}])")]


def expected_text(value) -> str:
    """How the layout renders a database value (independent re-implementation for the test)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


@pytest.fixture(scope="module")
def db() -> sqlite3.Connection:
    if not CHINOOK_DB.is_file():
        pytest.skip(f"public Chinook database not found at {CHINOOK_DB}")
    conn = sqlite3.connect(f"{CHINOOK_DB.as_uri()}?mode=ro", uri=True)
    yield conn
    conn.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory, db) -> tuple[RawStore, ChinookExportSummary, list[str]]:
    store = open_raw_store(str(tmp_path_factory.mktemp("raw")))
    messages: list[str] = []
    summary = export_chinook(CHINOOK_DB, store, progress=messages.append)
    return store, summary, messages


def invoice_keys(store: RawStore) -> dict[str, set[str]]:
    """Day folder ``YYYY-MM-DD`` → the transaction tables delivered in it."""
    days: dict[str, set[str]] = {}
    for obj in store.list("chinook/invoices/"):
        match = DAY_FOLDER.match(obj.key)
        assert match, f"unexpected file {obj.key}"
        days.setdefault("-".join(match.group(1, 2, 3)), set()).add(match.group(4))
    return days


def all_rows(store: RawStore, table: str) -> list[dict[str, str]]:
    if table in REFERENCE:
        return read_csv(store, f"chinook/reference/{table}.csv")[1]
    rows: list[dict[str, str]] = []
    for obj in store.list("chinook/invoices/"):
        if obj.key.endswith(f"/{table}.csv"):
            rows += read_csv(store, obj.key)[1]
    return rows


@needs_db
@pytest.mark.acceptance
def test_headers_are_the_database_columns_in_snake_case(exported, db):
    store, _summary, _ = exported
    for table in REFERENCE:
        header, _ = read_csv(store, f"chinook/reference/{table}.csv")
        assert header == db_columns(db, table), table
    for obj in store.list("chinook/invoices/"):
        table = DAY_FOLDER.match(obj.key).group(4)
        header, _ = read_csv(store, obj.key)
        assert header == db_columns(db, table), obj.key


@needs_db
@pytest.mark.acceptance
def test_row_counts_match_every_table(exported, db):
    store, summary, _ = exported
    for table in (*REFERENCE, "invoice", "invoice_line"):
        expected = db.execute(f"SELECT COUNT(*) FROM [{camel(table)}]").fetchone()[0]
        assert len(all_rows(store, table)) == expected, table
        assert summary.rows[table] == expected, table


@needs_db
@pytest.mark.acceptance
def test_reference_content_equals_database_in_primary_key_order(exported, db):
    store, _summary, _ = exported
    for table in REFERENCE:
        columns = db_columns(db, table)
        pk = ", ".join(f"[{camel(c)}]" for c in PRIMARY_KEYS.get(table, (f"{table}_id",)))
        expected = [
            [expected_text(v) for v in row]
            for row in db.execute(f"SELECT * FROM [{camel(table)}] ORDER BY {pk}")
        ]
        _, rows = read_csv(store, f"chinook/reference/{table}.csv")
        assert [[r[c] for c in columns] for r in rows] == expected, table


@needs_db
@pytest.mark.acceptance
def test_one_folder_per_invoice_day_with_that_days_invoices(exported, db):
    store, summary, _ = exported
    per_day = dict(db.execute("SELECT date(InvoiceDate), COUNT(*) FROM Invoice GROUP BY 1"))
    folders = invoice_keys(store)
    assert set(folders) == set(per_day)
    assert all(tables == {"invoice", "invoice_line"} for tables in folders.values())
    for day, count in per_day.items():
        _, invoices = read_csv(store, f"chinook/invoices/{day.replace('-', '/')}/invoice.csv")
        assert len(invoices) == count, day
        assert all(inv["invoice_date"].startswith(day) for inv in invoices), day
    assert summary.days == len(per_day)
    assert str(summary.first_day) == min(per_day) and str(summary.last_day) == max(per_day)


@needs_db
@pytest.mark.acceptance
def test_invoice_lines_are_delivered_with_their_invoice(exported, db):
    store, _summary, _ = exported
    invoice_of_line = dict(db.execute("SELECT InvoiceLineId, InvoiceId FROM InvoiceLine"))
    for day in invoice_keys(store):
        folder = f"chinook/invoices/{day.replace('-', '/')}"
        _, invoices = read_csv(store, f"{folder}/invoice.csv")
        _, lines = read_csv(store, f"{folder}/invoice_line.csv")
        ids = {inv["invoice_id"] for inv in invoices}
        assert all(line["invoice_id"] in ids for line in lines), day
        for line in lines:
            assert str(invoice_of_line[int(line["invoice_line_id"])]) == line["invoice_id"], line
        # Sorted by primary key within each file.
        invoice_ids = [int(i["invoice_id"]) for i in invoices]
        line_ids = [int(x["invoice_line_id"]) for x in lines]
        assert invoice_ids == sorted(invoice_ids) and line_ids == sorted(line_ids), day


@needs_db
@pytest.mark.acceptance
def test_revenue_matches_to_the_cent(exported, db):
    store, _summary, _ = exported
    invoices_cents = db.execute(
        "SELECT SUM(CAST(ROUND(Total * 100) AS INTEGER)) FROM Invoice"
    ).fetchone()[0]
    lines_cents = db.execute(
        "SELECT SUM(CAST(ROUND(UnitPrice * 100) AS INTEGER) * Quantity) FROM InvoiceLine"
    ).fetchone()[0]
    invoice_total = sum(Decimal(r["total"]) for r in all_rows(store, "invoice"))
    line_total = sum(
        Decimal(r["unit_price"]) * int(r["quantity"]) for r in all_rows(store, "invoice_line")
    )
    assert invoice_total * 100 == invoices_cents
    assert line_total * 100 == lines_cents


@needs_db
@pytest.mark.acceptance
def test_nulls_are_empty_fields_and_only_nulls_are(exported, db):
    store, _summary, _ = exported
    for table in (*REFERENCE, "invoice", "invoice_line"):
        rows = all_rows(store, table)
        for column in db_columns(db, table):
            sql = f"SELECT COUNT(*) FROM [{camel(table)}] WHERE [{camel(column)}] IS NULL"
            nulls = db.execute(sql).fetchone()[0]
            assert sum(1 for r in rows if r[column] == "") == nulls, f"{table}.{column}"


@needs_db
@pytest.mark.acceptance
def test_money_and_datetime_formats(exported):
    store, _summary, _ = exported
    money = [r["unit_price"] for r in all_rows(store, "track") + all_rows(store, "invoice_line")]
    money += [r["total"] for r in all_rows(store, "invoice")]
    assert money and [v for v in money if not MONEY.match(v)] == []
    moments = [r["invoice_date"] for r in all_rows(store, "invoice")]
    moments += [r[c] for r in all_rows(store, "employee") for c in ("birth_date", "hire_date")]
    assert moments and [v for v in moments if not DATETIME.match(v)] == []


@needs_db
@pytest.mark.acceptance
def test_files_are_utf8_without_bom_with_unix_newlines(exported):
    store, _summary, _ = exported
    for obj in store.list("chinook/"):
        data = store.read_bytes(obj.key)
        assert not data.startswith(b"\xef\xbb\xbf"), obj.key
        assert b"\r\n" not in data and data.endswith(b"\n"), obj.key
        data.decode("utf-8")  # raises if not UTF-8
    # Accented names survive the round trip (e.g. São Paulo, Köhler).
    assert any(not r["last_name"].isascii() for r in all_rows(store, "customer"))


@needs_db
@pytest.mark.acceptance
def test_summary_matches_what_was_written(exported, db):
    store, summary, messages = exported
    objects = list(store.list("chinook/"))
    assert summary.files == len(objects) == len(REFERENCE) + 2 * summary.days
    assert summary.bytes == sum(o.size for o in objects)
    invoices = db.execute("SELECT COUNT(*) FROM Invoice").fetchone()[0]
    line = summary.describe()
    assert "\n" not in line and f"{invoices} invoices" in line and f"{summary.days} days" in line
    assert messages, "progress callback was never called"


def test_missing_file_is_a_clear_error(tmp_path):
    missing = tmp_path / "nope.sqlite"
    with pytest.raises(ChinookExportError, match="no such file") as err:
        export_chinook(missing, open_raw_store(str(tmp_path / "raw")))
    assert str(missing) in str(err.value)
    assert not missing.exists()  # the read-only open must not create it


def test_non_chinook_database_is_a_clear_error_and_store_is_untouched(tmp_path):
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE Artist (ArtistId INTEGER PRIMARY KEY, Name TEXT)")
    store = open_raw_store(str(tmp_path / "raw"))
    store.write_bytes("chinook/reference/artist.csv", b"artist_id,name\n1,Kept\n")

    with pytest.raises(ChinookExportError, match="not a Chinook database") as err:
        export_chinook(other, store)
    message = str(err.value)
    assert str(other) in message and "Album" in message and "InvoiceLine" in message
    assert "Artist," not in message  # present tables are not reported missing
    assert store.read_bytes("chinook/reference/artist.csv") == b"artist_id,name\n1,Kept\n"


def test_missing_column_is_reported(tmp_path):
    db_path = tmp_path / "almost.sqlite"
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE Genre (GenreId INTEGER PRIMARY KEY)")
    with pytest.raises(ChinookExportError, match=r"Genre\.Name"):
        export_chinook(db_path, open_raw_store(str(tmp_path / "raw")))


def test_file_that_is_not_sqlite_is_a_clear_error(tmp_path):
    script = tmp_path / "Chinook_Sqlite.sql"
    script.write_text("CREATE TABLE [Album] (...);\n" * 200, encoding="utf-8")
    with pytest.raises(ChinookExportError, match="not an SQLite database") as err:
        export_chinook(script, open_raw_store(str(tmp_path / "raw")))
    assert str(script) in str(err.value)
