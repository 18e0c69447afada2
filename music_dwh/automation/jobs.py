"""Asset jobs: one daily-partitioned job per source system.

Each job selects every asset of its system's group (raw → staging → star → marts) and the
checks that target them. Unpartitioned assets of the group (the song catalogue, the reference
snapshots, the dimensions and marts) ride along in every run: Dagster allows unpartitioned
assets in a partitioned asset job. Because every asset has ``BackfillPolicy.single_run()``, a
backfill of a job over any range is one run (range tags), not one run per day.
"""

from dagster import AssetSelection, define_asset_job

from music_dwh.partitions import chinook_daily, sparkify_daily

sparkify_job = define_asset_job(
    name="sparkify_job",
    selection=AssetSelection.groups("sparkify"),
    partitions_def=sparkify_daily,
    description="Every Sparkify asset (log files and song catalogue → staging → star schema) "
    "and its checks, for a day or a range of days (one run).",
)

chinook_job = define_asset_job(
    name="chinook_job",
    selection=AssetSelection.groups("chinook"),
    partitions_def=chinook_daily,
    description="Every Chinook asset (reference snapshots and invoice days → staging → star "
    "schema → sales marts) and its checks, for a day or a range of days (one run).",
)

JOBS_BY_SYSTEM = {"sparkify": sparkify_job, "chinook": chinook_job}
jobs = [sparkify_job, chinook_job]
