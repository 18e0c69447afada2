"""Chinook's raw layout, both ways, and everyone reading it the same way: the invoice and
reference sensors, ``music-dwh load`` (the CLI's delivered days) and the staging loader."""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import DagsterInstance, build_sensor_context

from music_dwh.automation import sensors
from music_dwh.datagen import chinook_export
from music_dwh.resources.raw_store import open_raw_store
from music_dwh.sources import chinook as source
from music_dwh.staging import chinook as staging

DAYS = [dt.date(2021, 1, 1), dt.date(2021, 1, 10), dt.date(2024, 2, 29), dt.date(2025, 12, 31)]

OUTSIDE = [
    "chinook/invoices/2021/02/30/invoice.csv",  # no such day
    "chinook/invoices/2021/01/05/invoice.csv.bak",
    "chinook/invoices/2021/01/05/.invoice.csv",  # hidden
    "chinook/invoices/2021/01/05/refunds.csv",  # not a transaction table
    "chinook/invoices/2021/01/05/late/invoice.csv",
    "chinook/invoices/2021/01/invoice.csv",  # no day folder
    "chinook/invoices/2021-01-06/invoice.csv",
    "chinook/reference/track.csv",
    "sparkify/log_data/2021/01/2021-01-07-events.json",
]


@pytest.mark.parametrize("day", DAYS)
def test_key_for_and_day_of_round_trip(day):
    for table in source.TRANSACTION_TABLES:
        key = source.key_for(day, table)
        assert key == f"chinook/invoices/{day:%Y/%m/%d}/{table}.csv"
        assert key.startswith(source.invoice_day_prefix(day))
        assert source.day_of(key) == day
        assert source.parse_invoice_key(key) == (day, table)


@pytest.mark.parametrize("key", OUTSIDE)
def test_keys_outside_the_layout_have_no_day(key):
    assert source.day_of(key) is None and source.parse_invoice_key(key) is None


def test_reference_keys_both_ways():
    for table in source.REFERENCE_TABLES:
        assert source.reference_table_of(source.reference_key(table)) == table
    assert source.reference_table_of("chinook/reference/.track.csv") is None
    assert source.reference_table_of("chinook/reference/track.csv.bak") is None
    with pytest.raises(ValueError):
        source.reference_key("invoice")
    with pytest.raises(ValueError):
        source.key_for(DAYS[0], "track")


def test_the_contract_describes_every_table_once():
    assert set(source.TABLE_COLUMNS) == {*source.REFERENCE_TABLES, *source.TRANSACTION_TABLES}
    assert all(set(pk) <= set(source.TABLE_COLUMNS[t]) for t, pk in source.PRIMARY_KEYS.items())
    columns = {c for cols in source.TABLE_COLUMNS.values() for c in cols}
    assert columns >= source.MONEY_COLUMNS and columns >= source.DATETIME_COLUMNS
    assert source.column_index("invoice", "total") == 8
    # The generators write the contract; they do not define it.
    assert chinook_export.REFERENCE_TABLES is source.REFERENCE_TABLES
    assert chinook_export.reference_key is source.reference_key


@pytest.fixture
def store(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    monkeypatch.setenv("MUSIC_DWH_RAW", str(raw))
    store = open_raw_store(str(raw))
    for key in OUTSIDE:
        store.write_bytes(key, b"invoice_id\n1\n")
    for day in (dt.date(2021, 1, 1), dt.date(2021, 1, 3)):
        store.write_bytes(source.key_for(day, "invoice"), b"invoice_id\n1\n")
    store.write_bytes(source.key_for(dt.date(2021, 1, 4), "invoice_line"), b"invoice_line_id\n1\n")
    return store


def test_the_sensor_the_cli_and_staging_see_the_same_days_and_files(store):
    from music_dwh.cli.load import _raw_days
    from music_dwh.definitions import defs

    expected = [dt.date(2021, 1, 1), dt.date(2021, 1, 3), dt.date(2021, 1, 4)]
    assert _raw_days("chinook") == expected
    assert staging.invoice_days(store) == expected
    by_day = staging.invoice_files_by_day(store, dt.date(2021, 1, 1), dt.date(2021, 12, 31))
    assert sorted(by_day) == expected
    assert all(source.day_of(key) == day for day, files in by_day.items() for key in files)

    context = build_sensor_context(
        instance=DagsterInstance.ephemeral(),
        repository_def=defs.get_repository_def(),
        resources={"raw_store": store},
        sensor_name="chinook_invoice_sensor",
    )
    requests = sensors.chinook_invoice_sensor.evaluate_tick(context).run_requests
    assert sorted(dt.date.fromisoformat(r.partition_key) for r in requests) == expected
