"""Materialization metadata of range runs (music_dwh/assets/metadata.py): each day's
materialization carries that day's own figures; what describes the whole table goes once, on
the last day, the asset's latest materialization."""

from __future__ import annotations

import datetime as dt

from dagster import (
    AssetKey,
    AssetRecordsFilter,
    AssetSpec,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    multi_asset,
)

from music_dwh.assets.metadata import add_day_metadata, days_in_window, partition_row_counts
from music_dwh.framework import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

DAYS = DailyPartitionsDefinition(start_date="2024-01-01")
KEYS = [AssetKey("lines"), AssetKey("invoices")]


@multi_asset(
    specs=[AssetSpec(key, partitions_def=DAYS) for key in KEYS],
    backfill_policy=BackfillPolicy.single_run(),
)
def books(context):
    days = days_in_window(*context.partition_time_window)
    for n, key in enumerate(KEYS, 1):
        per_day = {day: {"raw_records": n * day.day, "quarantined": day.day % 2} for day in days}
        add_day_metadata(context, key, per_day, last_day={"dagster/row_count": n * 1000})
        yield MaterializeResult(asset_key=key)


def test_each_day_gets_its_own_figures_and_the_last_day_the_whole_tables():
    job = Definitions(assets=[books]).resolve_implicit_global_asset_job_def()
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: "2024-01-01",
                ASSET_PARTITION_RANGE_END_TAG: "2024-02-09",  # 40 days: past a month
            },
        )
        assert result.success
        for n, key in enumerate(KEYS, 1):
            records = instance.fetch_materializations(
                AssetRecordsFilter(asset_key=key), limit=100
            ).records
            assert len(records) == 40
            for record in records:
                day = dt.date.fromisoformat(record.partition_key)
                metadata = {k: v.value for k, v in record.asset_materialization.metadata.items()}
                expected = {"raw_records": n * day.day, "quarantined": day.day % 2}
                if day == dt.date(2024, 2, 9):
                    expected["dagster/row_count"] = n * 1000
                assert metadata == expected, record.partition_key
            latest = instance.get_latest_materialization_event(key).asset_materialization
            assert latest.partition == "2024-02-09"
            assert latest.metadata["dagster/row_count"].value == n * 1000


def test_row_counts_per_day_of_a_date_or_a_timestamp_column(warehouse):
    with warehouse.session() as session:
        session.con.execute(
            "create schema s; create table s.t (d date, ts timestamp);"
            "insert into s.t values ('2024-01-01', '2024-01-01 23:59:59'),"
            " ('2024-01-01', '2024-01-03 00:00:00'), ('2024-01-03', '2024-01-03 12:00:00'),"
            " ('2024-01-04', '2024-01-04 00:00:00')"
        )
        days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(3)]
        by_date = partition_row_counts(session, "s.t", days, day_column="d")
        by_time = partition_row_counts(session, "s.t", days, day_column="ts")
    count = "dagster/partition_row_count"
    assert {d.day: v[count] for d, v in by_date.items()} == {1: 2, 2: 0, 3: 1}
    assert {d.day: v[count] for d, v in by_time.items()} == {1: 1, 2: 0, 3: 2}
