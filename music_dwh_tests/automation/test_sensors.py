"""The raw-store sensors against a real folder and a real S3 API (moto on 127.0.0.1).

Files are dropped into the store, the sensor is evaluated the way the daemon does
(``evaluate_tick`` on a context built from the project's Definitions), and the run requests are
compared with exactly what should run: one request per affected day, nothing twice, again on
re-delivery, nothing for keys outside the layout.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterInstance, build_sensor_context

from music_dwh.automation import sensors as S
from music_dwh.resources.raw_store import open_raw_store


def log_key(day: str) -> str:
    y, m, _ = day.split("-")
    return f"sparkify/log_data/{y}/{m}/{day}-events.json"


def invoice_key(day: str, table: str) -> str:
    return f"chinook/invoices/{day.replace('-', '/')}/{table}.csv"


def keys(*names: str) -> set[AssetKey]:
    return {AssetKey(n.split("/")) for n in names}


def remove(store, key: str) -> None:
    if store.is_s3:
        store.delete_keys([key])
    else:
        (Path(store.location) / key).unlink()


@pytest.fixture
def store(folder_or_s3_store):  # music_dwh_tests/conftest.py
    return folder_or_s3_store


@pytest.fixture(scope="module")
def defs():
    from music_dwh.definitions import defs

    return defs


class Evaluator:
    """Evaluates one sensor tick after tick, carrying the cursor like the daemon does."""

    def __init__(self, sensor_def, store, defs, instance=None):
        self.sensor_def, self.store, self.defs = sensor_def, store, defs
        # The daily sensors read run history (failed days); a fresh instance has none.
        self.instance = instance or DagsterInstance.ephemeral()
        self.cursor: str | None = None
        self.run_keys: list[str] = []

    def tick(self):
        context = build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            repository_def=self.defs.get_repository_def(),  # resolved once, cached by Dagster
            resources={"raw_store": self.store},
            sensor_name=self.sensor_def.name,
        )
        data = self.sensor_def.evaluate_tick(context)
        self.cursor = data.cursor
        # Every request stays within the sensor's job (the daemon would reject anything else).
        job_keys = (
            self.defs.get_repository_def()
            .get_job(self.sensor_def.job_name)
            .asset_layer.selected_asset_keys
        )
        for request in data.run_requests:
            assert request.asset_selection and set(request.asset_selection) <= set(job_keys)
        self.run_keys += [r.run_key for r in data.run_requests]
        return data.run_requests

    def partitions(self) -> list[str]:
        return sorted(r.partition_key for r in self.tick())


def test_log_sensor_requests_each_new_or_redelivered_day_once(store, defs):
    ev = Evaluator(S.sparkify_log_sensor, store, defs)
    assert ev.tick() == []

    store.write_bytes(log_key("2018-11-01"), b'{"ts": 1}\n')
    store.write_bytes(log_key("2018-11-02"), b'{"ts": 2}\n')
    requests = ev.tick()
    assert sorted(r.partition_key for r in requests) == ["2018-11-01", "2018-11-02"]
    # A day's run: the day's assets and the models built from or checked against them, but
    # not the song catalogue load (its own sensor reloads it).
    selected = set(requests[0].asset_selection)
    assert (
        keys(
            "sparkify/log_data",
            "sparkify/staging_events",
            "sparkify/songplays",
            "sparkify/time",
            "sparkify/users",
            "sparkify/songs",
        )
        <= selected
    )
    assert not selected & keys("sparkify/song_data", "sparkify/staging_songs")
    assert all(r.tags[S.TRIGGER_TAG] == "sparkify_log_sensor" for r in requests)

    assert ev.tick() == []  # nothing twice
    assert ev.tick() == []

    store.write_bytes(log_key("2018-11-03"), b'{"ts": 3}\n')
    assert ev.partitions() == ["2018-11-03"]

    store.write_bytes(log_key("2018-11-01"), b'{"ts": 1}\n{"ts": 11}\n')  # re-delivered
    assert ev.partitions() == ["2018-11-01"]
    assert ev.tick() == []

    # The first content again (on S3 the ETag returns to an earlier value): still a delivery,
    # with a run key of its own so Dagster does not drop it as a duplicate.
    store.write_bytes(log_key("2018-11-01"), b'{"ts": 1}\n')
    assert ev.partitions() == ["2018-11-01"]
    assert len(set(ev.run_keys)) == len(ev.run_keys) == 5
    assert all(k.startswith("sparkify:2018-11-0") for k in ev.run_keys)


def test_log_sensor_ignores_keys_outside_the_layout_and_days_before_the_start(store, defs):
    ev = Evaluator(S.sparkify_log_sensor, store, defs)
    for key in [
        "sparkify/log_data/2018/10/2018-10-31-events.json",  # before MUSIC_DWH_SPARKIFY_START
        "sparkify/log_data/2018/12/2018-11-05-events.json",  # folder disagrees with the date
        "sparkify/log_data/2018/11/2018-11-31-events.json",  # no such day
        "sparkify/log_data/2018/11/2018-11-06-events.json.bak",
        "sparkify/log_data/2018/11/README.txt",
        "sparkify/log_data/2018-11-07-events.json",  # no YYYY/MM folders
        "sparkify/song_data/A/B/C/TRX.json",  # another source
    ]:
        store.write_bytes(key, b"{}\n")
    assert ev.tick() == []
    assert json.loads(ev.cursor)["days"] == {}


def test_log_sensor_waits_for_a_day_whose_partition_does_not_exist_yet(store, defs):
    ev = Evaluator(S.sparkify_log_sensor, store, defs)
    store.write_bytes(log_key("2999-01-01"), b"{}\n")
    assert ev.tick() == []
    assert "2999-01-01" not in json.loads(ev.cursor)["days"]  # not recorded: retried every tick
    context = build_sensor_context(
        instance=ev.instance,
        cursor=ev.cursor,
        repository_def=defs.get_repository_def(),
        resources={"raw_store": store},
    )
    assert "1 waiting" in S.sparkify_log_sensor.evaluate_tick(context).skip_message


def test_removing_a_file_triggers_nothing_and_its_redelivery_triggers_again(store, defs):
    ev = Evaluator(S.sparkify_log_sensor, store, defs)
    store.write_bytes(log_key("2018-11-04"), b'{"ts": 4}\n')
    assert ev.partitions() == ["2018-11-04"]
    remove(store, log_key("2018-11-04"))
    assert ev.tick() == []
    store.write_bytes(log_key("2018-11-04"), b'{"ts": 4}\n')
    assert ev.partitions() == ["2018-11-04"]


def test_invoice_sensor_requests_one_run_per_day_of_invoice_files(store, defs):
    ev = Evaluator(S.chinook_invoice_sensor, store, defs)
    store.write_bytes(invoice_key("2021-01-05", "invoice"), b"header\n")
    store.write_bytes(invoice_key("2021-01-05", "invoice_line"), b"header\n")
    store.write_bytes(invoice_key("2021-01-06", "invoice"), b"header\n")
    store.write_bytes(invoice_key("2021-01-07", "notes"), b"not a transaction table\n")
    store.write_bytes("chinook/invoices/2020/12/31/invoice.csv", b"before the first partition\n")
    store.write_bytes("chinook/reference/track.csv", b"another source\n")
    requests = ev.tick()
    assert sorted(r.partition_key for r in requests) == ["2021-01-05", "2021-01-06"]
    selected = set(requests[0].asset_selection)
    assert (
        keys("chinook/invoice_files", "chinook/staging_invoice", "chinook/staging_invoice_line")
        <= selected
    )
    assert not selected & keys(
        "chinook/reference_files", "chinook/staging_track", "chinook/staging_customer"
    )
    assert ev.tick() == []
    # The day's second file arrives later: that day again, and only that day.
    store.write_bytes(invoice_key("2021-01-06", "invoice_line"), b"header\n")
    assert ev.partitions() == ["2021-01-06"]
    assert ev.tick() == []


def test_song_catalogue_sensor_reloads_the_catalogue_and_its_dimensions_once_per_delivery(
    store, defs
):
    ev = Evaluator(S.sparkify_song_catalogue_sensor, store, defs)
    assert ev.tick() == []
    for name in ("A/A/A/TRAAA1.json", "A/A/B/TRAAB1.json", "B/C/D/TRBCD1.json"):
        store.write_bytes(f"sparkify/song_data/{name}", b'{"song_id": "S"}\n')
    store.write_bytes("sparkify/song_data/README.md", b"not a song file")
    (request,) = ev.tick()
    assert request.partition_key is None
    selected = set(request.asset_selection)
    assert (
        keys("sparkify/song_data", "sparkify/staging_songs", "sparkify/songs", "sparkify/artists")
        <= selected
    )
    # Nothing partitioned, and not the dimension built from the logs.
    assert not selected & keys(
        "sparkify/log_data",
        "sparkify/staging_events",
        "sparkify/songplays",
        "sparkify/time",
        "sparkify/users",
    )
    assert ev.tick() == []
    store.write_bytes(
        "sparkify/song_data/A/A/A/TRAAA1.json", b'{"song_id": "S2"}\n'
    )  # re-delivered
    assert len(ev.tick()) == 1
    store.write_bytes("sparkify/song_data/C/C/C/TRCCC1.json", b'{"song_id": "S3"}\n')  # new
    assert len(ev.tick()) == 1
    assert ev.tick() == []
    assert len(set(ev.run_keys)) == 3


def test_song_catalogue_cursor_stays_small_for_a_large_catalogue(tmp_path, defs):
    store = open_raw_store(str(tmp_path))
    for i in range(2_000):
        store.write_bytes(f"sparkify/song_data/A/{i % 26:02d}/TR{i:016d}.json", b"{}\n")
    ev = Evaluator(S.sparkify_song_catalogue_sensor, store, defs)
    assert len(ev.tick()) == 1
    assert len(ev.cursor) < 100, ev.cursor
    assert ev.tick() == []


def test_reference_sensor_reloads_only_the_changed_snapshots_and_their_dimensions(store, defs):
    from music_dwh.datagen.chinook_export import REFERENCE_TABLES, reference_key

    ev = Evaluator(S.chinook_reference_sensor, store, defs)
    for table in REFERENCE_TABLES:
        store.write_bytes(reference_key(table), b"header\n")
    store.write_bytes("chinook/reference/notes.csv", b"not a reference table\n")
    (first,) = ev.tick()
    selected = set(first.asset_selection)
    assert (
        keys("chinook/reference_files", *(f"chinook/staging_{t}" for t in REFERENCE_TABLES))
        <= selected
    )
    assert keys("chinook/dim_track", "chinook/dim_customer") <= selected
    assert not selected & keys(
        "chinook/invoice_files", "chinook/staging_invoice", "chinook/fact_invoice"
    )
    assert ev.tick() == []

    store.write_bytes(reference_key("track"), b"header\nnew row\n")
    (second,) = ev.tick()
    selected = set(second.asset_selection)
    assert keys("chinook/reference_files", "chinook/staging_track", "chinook/dim_track") <= selected
    assert not selected & keys(
        "chinook/staging_customer", "chinook/dim_customer", "chinook/staging_album"
    )
    assert ev.tick() == []
    assert second.run_key != first.run_key


def test_a_catalogue_after_log_days_rebuilds_their_matched_models_in_one_range_run(store, defs):
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    for day in ("2018-11-03", "2018-11-05"):
        store.write_bytes(log_key(day), b'{"ts": 1}\n')
    store.write_bytes("sparkify/song_data/A/A/A/TRAAA1.json", b'{"song_id": "S"}\n')
    (request,) = Evaluator(S.sparkify_song_catalogue_sensor, store, defs).tick()
    # Days that came before the catalogue are matched again, as if it had come first: one run
    # over the delivered days, their staged events untouched.
    assert request.partition_key is None
    assert (
        request.tags[ASSET_PARTITION_RANGE_START_TAG],
        request.tags[ASSET_PARTITION_RANGE_END_TAG],
    ) == ("2018-11-03", "2018-11-05")
    selected = set(request.asset_selection)
    assert (
        keys(
            "sparkify/song_data",
            "sparkify/staging_songs",
            "sparkify/songs",
            "sparkify/songplays",
            "sparkify/time",
            "sparkify/song_plays_daily",
        )
        <= selected
    )
    assert not selected & keys("sparkify/log_data", "sparkify/staging_events", "sparkify/users")


def test_a_track_or_customer_snapshot_after_invoice_days_restages_them_other_snapshots_do_not(
    store, defs
):
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from music_dwh.datagen.chinook_export import reference_key

    for day in ("2021-01-02", "2021-01-04"):
        for table in ("invoice", "invoice_line"):
            store.write_bytes(invoice_key(day, table), b"header\n")
    ev = Evaluator(S.chinook_reference_sensor, store, defs)
    store.write_bytes(reference_key("track"), b"header\n")
    (request,) = ev.tick()
    assert (
        request.tags[ASSET_PARTITION_RANGE_START_TAG],
        request.tags[ASSET_PARTITION_RANGE_END_TAG],
    ) == ("2021-01-02", "2021-01-04")
    assert keys(
        "chinook/reference_files",
        "chinook/staging_track",
        "chinook/staging_invoice",
        "chinook/staging_invoice_line",
        "chinook/fact_invoice_line",
    ) <= set(request.asset_selection)
    assert not set(request.asset_selection) & keys(
        "chinook/invoice_files", "chinook/staging_customer"
    )

    store.write_bytes(reference_key("album"), b"header\n")  # nothing daily is built from albums
    (request,) = ev.tick()
    assert request.partition_key is None and ASSET_PARTITION_RANGE_START_TAG not in request.tags
    assert not set(request.asset_selection) & keys(
        "chinook/staging_invoice", "chinook/fact_invoice"
    )


def test_a_day_whose_run_failed_is_requested_again_once_per_catalogue_reload(store, defs):
    from dagster import AssetMaterialization, DagsterRunStatus
    from dagster._core.storage.dagster_run import DagsterRun
    from dagster._core.storage.tags import PARTITION_NAME_TAG

    ev = Evaluator(S.sparkify_log_sensor, store, defs)
    store.write_bytes(log_key("2018-11-01"), b'{"ts": 1}\n')
    store.write_bytes(log_key("2018-11-02"), b'{"ts": 2}\n')
    assert ev.partitions() == ["2018-11-01", "2018-11-02"]

    def finished(day: str, status: DagsterRunStatus) -> None:
        ev.instance.add_run(
            DagsterRun(
                job_name="sparkify_job",
                run_id=str(uuid.uuid4()),
                status=status,
                tags={PARTITION_NAME_TAG: day},
            )
        )

    def catalogue_reloaded() -> None:
        ev.instance.report_runless_asset_event(
            AssetMaterialization(asset_key=AssetKey(["sparkify", "staging_songs"]))
        )

    finished("2018-11-01", DagsterRunStatus.FAILURE)
    finished("2018-11-02", DagsterRunStatus.SUCCESS)
    assert ev.tick() == [] and ev.tick() == []  # a failure alone is not retried tick after tick
    catalogue_reloaded()
    (again,) = ev.tick()
    assert again.partition_key == "2018-11-01" and "after-snapshot" in again.run_key
    assert again.tags[S.RETRY_REASON_TAG]
    assert ev.tick() == []  # once per reload
    finished("2018-11-01", DagsterRunStatus.FAILURE)  # failed again, for a real reason
    assert ev.tick() == []
    catalogue_reloaded()
    (again_2,) = ev.tick()
    assert again_2.partition_key == "2018-11-01" and again_2.run_key != again.run_key
    finished("2018-11-01", DagsterRunStatus.SUCCESS)  # fixed
    catalogue_reloaded()
    assert ev.tick() == []


def test_the_automation_sensor_covers_the_marts(defs):
    graph = defs.resolve_asset_graph()
    marts = {k for k in graph.get_all_asset_keys() if graph.get(k).tags.get("layer") == "mart"}
    with_condition = {k for k in graph.get_all_asset_keys() if graph.get(k).automation_condition}
    assert marts and marts <= with_condition
    sensor_def = defs.get_repository_def().get_sensor_def("default_automation_condition_sensor")
    assert sensor_def.default_status.value == "RUNNING"
    assert marts <= sensor_def.asset_selection.resolve(graph)
