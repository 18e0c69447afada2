"""Sparkify's raw layout, both ways, and everyone reading it the same way: the log sensor,
``music-dwh load`` (the CLI's delivered days) and the staging loader."""

from __future__ import annotations

import datetime as dt

import pytest
from dagster import DagsterInstance, build_sensor_context

from music_dwh.automation import sensors
from music_dwh.resources.raw_store import open_raw_store
from music_dwh.sources import sparkify as source
from music_dwh.staging import sparkify as staging
from music_dwh.staging.common import LoadStats

DAYS = [dt.date(2018, 11, 1), dt.date(2018, 11, 10), dt.date(2018, 12, 31), dt.date(2020, 2, 29)]

OUTSIDE = [
    "sparkify/log_data/2018/12/2018-11-05-events.json",  # the folder disagrees with the name
    "sparkify/log_data/2018/11/2018-11-31-events.json",  # no such day
    "sparkify/log_data/2018/11/.2018-11-06-events.json",  # hidden
    "sparkify/log_data/2018/11/2018-11-07-events.json.bak",
    "sparkify/log_data/2018/11/2018-11-08-late/events.json",  # a folder under the day's name
    "sparkify/log_data/2018-11-09-events.json",  # no YYYY/MM folders
    "sparkify/log_data/2018/11/README.txt",
    "sparkify/song_data/A/B/C/TRX.json",  # the catalogue, not a log
    "chinook/invoices/2018/11/01/invoice.csv",
]


@pytest.mark.parametrize("day", DAYS)
def test_key_for_and_day_of_round_trip(day):
    for name in ("events", "part-2", "x"):
        key = source.key_for(day, name)
        assert key.startswith(source.log_day_prefix(day)) and key.startswith(source.LOG_PREFIX)
        assert source.day_of(key) == day
    assert source.key_for(day) == f"sparkify/log_data/{day:%Y/%m}/{day.isoformat()}-events.json"


def test_a_days_prefix_never_matches_another_day():
    tenth, first = dt.date(2018, 11, 10), dt.date(2018, 11, 1)
    assert not source.key_for(tenth).startswith(source.log_day_prefix(first))


@pytest.mark.parametrize("key", OUTSIDE)
def test_keys_outside_the_layout_have_no_day(key):
    assert source.day_of(key) is None


def test_key_for_refuses_a_name_that_leaves_the_layout():
    with pytest.raises(ValueError):
        source.key_for(DAYS[0], "late/events")
    with pytest.raises(ValueError):
        source.key_for(DAYS[0], "")


def test_song_files_are_json_under_the_prefix_and_not_hidden():
    assert source.is_song_file(source.song_key("TRABCDE12345"))
    assert source.song_key("TRABCDE12345") == "sparkify/song_data/A/B/C/TRABCDE12345.json"
    for key in (
        "sparkify/song_data/A/B/.C/TRX.json",
        "sparkify/song_data/A/B/C/.TRX.json",
        "sparkify/song_data/A/B/C/TRX.json.tmp",
        "sparkify/log_data/2018/11/2018-11-01-x.json",
    ):
        assert not source.is_song_file(key)


@pytest.fixture
def store(tmp_path, monkeypatch):
    raw = tmp_path / "raw"
    monkeypatch.setenv("MUSIC_DWH_RAW", str(raw))
    store = open_raw_store(str(raw))
    for key in OUTSIDE:
        store.write_bytes(key, b'{"ts": 0}\n')
    for day in (dt.date(2018, 11, 1), dt.date(2018, 11, 8)):
        store.write_bytes(source.key_for(day), b'{"ts": 1}\n')
    return store


def test_the_sensor_the_cli_and_staging_see_the_same_days_and_files(store):
    from music_dwh.cli.load import _raw_days
    from music_dwh.definitions import defs

    expected = [dt.date(2018, 11, 1), dt.date(2018, 11, 8)]
    assert _raw_days("sparkify") == expected
    assert staging.log_days(store) == expected

    context = build_sensor_context(
        instance=DagsterInstance.ephemeral(),
        repository_def=defs.get_repository_def(),
        resources={"raw_store": store},
        sensor_name="sparkify_log_sensor",
    )
    requests = sensors.sparkify_log_sensor.evaluate_tick(context).run_requests
    assert sorted(dt.date.fromisoformat(r.partition_key) for r in requests) == expected

    # The loader reads the day's file, never the folder named like the day.
    stats = LoadStats("staging_events", dt.date(2018, 11, 8))
    eighth, loaded_at = dt.date(2018, 11, 8), dt.datetime(2024, 1, 1)
    list(staging.event_batches(store, eighth, stats, loaded_at, fast=False))
    assert stats.files == 1 and stats.records == 1
    stats = LoadStats("staging_events", eighth)
    list(staging.event_batches(store, eighth, stats, loaded_at))
    assert stats.files == 1
    # Reconciliation counts the same files.
    assert staging.count_records(store, source.log_day_prefix(dt.date(2018, 11, 8))) == 1
    assert staging.count_records(store, source.SONG_PREFIX) == 1
