"""Synthetic Chinook generator: layout, formatting, referential integrity and determinism."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
from collections import Counter
from decimal import Decimal

import pytest

from music_dwh.datagen.chinook import ChinookGenerationSummary, generate_chinook
from music_dwh.resources.raw_store import RawStore, open_raw_store

START = dt.date(2024, 3, 1)
SMALL = dict(start=START, days=10, customers=30, invoices_per_day=5)

#: The delivery contract (column names and order), written out independently of the code.
HEADERS = {
    "artist": "artist_id,name",
    "album": "album_id,title,artist_id",
    "track": "track_id,name,album_id,media_type_id,genre_id,composer,milliseconds,bytes,unit_price",
    "genre": "genre_id,name",
    "media_type": "media_type_id,name",
    "playlist": "playlist_id,name",
    "playlist_track": "playlist_id,track_id",
    "customer": "customer_id,first_name,last_name,company,address,city,state,country,postal_code,"
    "phone,fax,email,support_rep_id",
    "employee": "employee_id,last_name,first_name,title,reports_to,birth_date,hire_date,address,"
    "city,state,country,postal_code,phone,fax,email",
    "invoice": "invoice_id,customer_id,invoice_date,billing_address,billing_city,billing_state,"
    "billing_country,billing_postal_code,total",
    "invoice_line": "invoice_line_id,invoice_id,track_id,unit_price,quantity",
}
MEDIA_TYPES = [
    "MPEG audio file",
    "Protected AAC audio file",
    "Protected MPEG-4 video file",
    "Purchased AAC audio file",
    "AAC audio file",
]
MONEY = re.compile(r"^\d+\.\d{2}$")
DAY_FOLDER = re.compile(r"^chinook/invoices/(\d{4})/(\d{2})/(\d{2})/(invoice|invoice_line)\.csv$")


class Dataset:
    """A generated store read back through the raw store, as the loaders would."""

    def __init__(self, store: RawStore, summary: ChinookGenerationSummary) -> None:
        self.store = store
        self.summary = summary
        self.headers: dict[str, str] = {}
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.day_files: dict[dt.date, dict[str, list[dict[str, str]]]] = {}
        for obj in store.list("chinook/"):
            text = store.read_bytes(obj.key).decode("utf-8")
            header = text.split("\n", 1)[0]
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
            if obj.key.startswith("chinook/reference/"):
                table = obj.key.rsplit("/", 1)[1].removesuffix(".csv")
                self.tables[table] = rows
            else:
                match = DAY_FOLDER.match(obj.key)
                assert match, f"unexpected file {obj.key}"
                table = match.group(4)
                day = dt.date(*map(int, match.group(1, 2, 3)))
                self.day_files.setdefault(day, {})[table] = rows
                self.tables.setdefault(table, []).extend(rows)
            assert self.headers.setdefault(table, header) == header, obj.key

    def ids(self, table: str, column: str | None = None) -> set[str]:
        return {r[column or f"{table}_id"] for r in self.tables[table]}


def generate(root, **kwargs) -> Dataset:
    store = open_raw_store(str(root))
    return Dataset(store, generate_chinook(store, **kwargs))


def snapshot(store: RawStore) -> dict[str, bytes]:
    return {obj.key: store.read_bytes(obj.key) for obj in store.list("chinook/")}


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Dataset:
    return generate(tmp_path_factory.mktemp("raw"), seed=42, **SMALL)


def test_headers_follow_the_chinook_contract(small):
    assert set(small.headers) == set(HEADERS)
    for table, header in HEADERS.items():
        assert small.headers[table] == header, table


def test_same_arguments_give_byte_identical_files(small, tmp_path):
    again = generate(tmp_path, seed=42, **SMALL)
    first, second = snapshot(small.store), snapshot(again.store)
    assert first and list(first) == list(second)
    assert first == second
    assert dataclasses.replace(again.summary, target=small.summary.target) == small.summary


def test_different_seeds_give_different_stores(small, tmp_path):
    other = generate(tmp_path, seed=7, **SMALL)
    assert snapshot(other.store) != snapshot(small.store)
    assert other.tables["invoice"] != small.tables["invoice"]


def test_regeneration_replaces_the_previous_dataset(tmp_path):
    store = open_raw_store(str(tmp_path))
    scale = dict(customers=5, invoices_per_day=3, seed=1)
    generate_chinook(store, start=dt.date(2020, 1, 1), days=3, **scale)
    generate_chinook(store, start=START, days=2, **scale)
    days = {DAY_FOLDER.match(o.key).group(1) for o in store.list("chinook/invoices/")}
    assert days == {"2024"}


def test_invoice_total_is_the_exact_sum_of_its_lines(small):
    lines_by_invoice: dict[str, list[dict[str, str]]] = {}
    for line in small.tables["invoice_line"]:
        lines_by_invoice.setdefault(line["invoice_id"], []).append(line)
    assert small.tables["invoice"], "no invoices generated"
    for invoice in small.tables["invoice"]:
        lines = lines_by_invoice.get(invoice["invoice_id"], [])
        assert 1 <= len(lines) <= 14, invoice
        expected = sum(Decimal(x["unit_price"]) * int(x["quantity"]) for x in lines)
        assert Decimal(invoice["total"]) == expected, invoice
    assert set(lines_by_invoice) == small.ids("invoice")  # no line without an invoice
    assert small.summary.revenue == sum(Decimal(i["total"]) for i in small.tables["invoice"])


def test_prices_are_chinooks_and_follow_the_media_type(small):
    media = {r["media_type_id"]: r["name"] for r in small.tables["media_type"]}
    assert [r["name"] for r in small.tables["media_type"]] == MEDIA_TYPES
    tracks = {t["track_id"]: t for t in small.tables["track"]}
    for track in tracks.values():
        video = media[track["media_type_id"]] == "Protected MPEG-4 video file"
        assert track["unit_price"] == ("1.99" if video else "0.99"), track
    assert {t["unit_price"] for t in tracks.values()} == {"0.99", "1.99"}  # both kinds exist
    for line in small.tables["invoice_line"]:
        assert line["unit_price"] == tracks[line["track_id"]]["unit_price"], line
        assert line["quantity"] in {"1", "2"}
    money = [t["unit_price"] for t in tracks.values()]
    money += [i["total"] for i in small.tables["invoice"]]
    assert all(MONEY.match(m) for m in money)


def test_every_foreign_key_resolves(small):
    t = small
    fks = [
        ("album", "artist_id", t.ids("artist")),
        ("track", "album_id", t.ids("album")),
        ("track", "genre_id", t.ids("genre")),
        ("track", "media_type_id", t.ids("media_type")),
        ("playlist_track", "playlist_id", t.ids("playlist")),
        ("playlist_track", "track_id", t.ids("track")),
        ("customer", "support_rep_id", t.ids("employee")),
        ("invoice", "customer_id", t.ids("customer")),
        ("invoice_line", "invoice_id", t.ids("invoice")),
        ("invoice_line", "track_id", t.ids("track")),
    ]
    for table, column, targets in fks:
        values = [r[column] for r in t.tables[table]]
        assert values, f"{table}.{column} is empty"
        dangling = set(values) - targets
        assert not dangling, f"{table}.{column} has dangling values {dangling}"
    managers = [r["reports_to"] for r in t.tables["employee"] if r["reports_to"]]
    assert set(managers) <= t.ids("employee")


def test_primary_keys_are_unique_and_sorted(small):
    for table, rows in small.tables.items():
        if table == "playlist_track":
            keys = [(int(r["playlist_id"]), int(r["track_id"])) for r in rows]
        else:
            keys = [int(r[f"{table}_id"]) for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), table
    # Invoice and line ids keep increasing across days.
    invoice_ids = [int(r["invoice_id"]) for r in small.tables["invoice"]]
    line_ids = [int(r["invoice_line_id"]) for r in small.tables["invoice_line"]]
    assert invoice_ids == list(range(1, small.summary.invoices + 1))
    assert line_ids == list(range(1, small.summary.invoice_lines + 1))


def test_manager_hierarchy_has_one_root_and_agents_serve_customers(small):
    employees = {e["employee_id"]: e for e in small.tables["employee"]}
    roots = [e for e in employees.values() if e["reports_to"] == ""]
    assert len(roots) == 1 and roots[0]["title"] == "General Manager"
    for employee in employees.values():  # every chain reaches the root without a cycle
        seen, current = set(), employee
        while current["reports_to"]:
            assert current["employee_id"] not in seen, "cycle in reports_to"
            seen.add(current["employee_id"])
            current = employees[current["reports_to"]]
        assert current is roots[0]
    titles = {e["employee_id"]: e["title"] for e in employees.values()}
    agents = [e for e in employees.values() if e["title"] == "Sales Support Agent"]
    assert agents and {titles[e["reports_to"]] for e in agents} == {"Sales Manager"}
    reps = {titles[c["support_rep_id"]] for c in small.tables["customer"]}
    assert reps == {"Sales Support Agent"}


def test_customers_buy_repeatedly_and_are_billed_at_their_address(small):
    purchases = Counter(i["customer_id"] for i in small.tables["invoice"])
    assert max(purchases.values()) >= 2
    assert len(set(purchases.values())) > 1  # some customers buy more than others
    customers = {c["customer_id"]: c for c in small.tables["customer"]}
    for invoice in small.tables["invoice"]:
        customer = customers[invoice["customer_id"]]
        for field in ("address", "city", "state", "country", "postal_code"):
            assert invoice[f"billing_{field}"] == customer[field], (invoice, field)


def test_invoices_are_dated_midnight_of_their_folder_day(small):
    assert small.day_files
    last_day = START + dt.timedelta(days=SMALL["days"] - 1)
    for day, files in small.day_files.items():
        assert START <= day <= last_day
        assert set(files) == {"invoice", "invoice_line"} and files["invoice"], day
        assert {i["invoice_date"] for i in files["invoice"]} == {f"{day} 00:00:00"}
        invoice_ids = {i["invoice_id"] for i in files["invoice"]}
        assert {x["invoice_id"] for x in files["invoice_line"]} == invoice_ids


def test_days_without_sales_have_no_folder(tmp_path):
    quiet = generate(tmp_path / "q", seed=3, start=START, days=5, customers=10, invoices_per_day=0)
    assert quiet.day_files == {} and quiet.summary.sale_days == 0 and quiet.summary.invoices == 0
    assert len(quiet.tables["customer"]) == 10  # reference data is still delivered

    sparse = generate(tmp_path / "s", seed=3, start=START, days=60, customers=9, invoices_per_day=1)
    assert 0 < len(sparse.day_files) < 60
    assert sparse.summary.sale_days == len(sparse.day_files)


def test_reference_data_is_realistic(small):
    assert 20 <= len(small.tables["genre"]) <= 30
    composers = [t["composer"] for t in small.tables["track"]]
    assert "" in composers and any(composers)  # sometimes NULL, mostly known
    assert len(small.tables["playlist"]) > 1 and small.tables["playlist_track"]
    pairs = [(r["playlist_id"], r["track_id"]) for r in small.tables["playlist_track"]]
    assert len(pairs) == len(set(pairs))
    assert len(small.tables["track"]) > len(small.tables["album"]) > 0


def test_customers_spread_over_many_countries_with_plausible_states(tmp_path):
    wide = generate(tmp_path, seed=5, start=START, days=1, customers=600, invoices_per_day=0)
    customers = wide.tables["customer"]
    assert len({c["country"] for c in customers}) >= 18
    assert all(c["state"] for c in customers if c["country"] in ("USA", "Canada"))
    assert any(c["state"] == "" for c in customers if c["country"] not in ("USA", "Canada"))
    assert any(c["company"] for c in customers) and any(not c["company"] for c in customers)
    assert len({c["email"] for c in customers}) == len(customers)
    # The catalog grows with the customer base.
    assert len(wide.tables["track"]) > 1_000


def test_summary_matches_the_files(small):
    summary = small.summary
    objects = list(small.store.list("chinook/"))
    assert summary.files == len(objects) == 9 + 2 * summary.sale_days
    assert summary.bytes == sum(o.size for o in objects)
    assert summary.rows == {table: len(rows) for table, rows in small.tables.items()}
    assert summary.sale_days == len(small.day_files) and summary.days == SMALL["days"]
    line = summary.describe()
    assert "\n" not in line and f"{summary.invoices} invoices" in line and "seed 42" in line


@pytest.mark.parametrize(
    "bad",
    [dict(days=0), dict(customers=0), dict(invoices_per_day=-1)],
    ids=["days", "customers", "rate"],
)
def test_invalid_arguments_are_rejected_before_writing(tmp_path, bad):
    store = open_raw_store(str(tmp_path))
    with pytest.raises(ValueError, match=next(iter(bad))):
        generate_chinook(store, **{**SMALL, **bad})
    assert list(store.list("chinook/")) == []
