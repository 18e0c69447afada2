"""Sparkify (the streaming app): raw log and song files, and the staging tables loaded from them.

Raw assets record what landed in the raw store (files, bytes); staging assets load a day's
log file, or the whole song catalogue, into schema ``sparkify``. The star schema on top is
built by dbt (``sql/models/sparkify``, wired in ``music_dwh/assets/dbt.py``).
"""

import datetime as dt

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    MaterializeResult,
    asset,
)

from music_dwh.assets.loads import day_books, failing_over_threshold, quarantine_metadata
from music_dwh.assets.metadata import (
    add_day_metadata,
    days_in_window,
    log_this_day,
    partition_row_counts,
    per_day_markdown,
    table_metadata,
)
from music_dwh.partitions import daily
from music_dwh.resources.raw_store import RawStore
from music_dwh.resources.warehouse import Warehouse
from music_dwh.settings import get_settings
from music_dwh.sources import sparkify as source
from music_dwh.staging import sparkify as staging
from music_dwh.tags import WAREHOUSE_KIND, WAREHOUSE_POOL, layer_tags

GROUP = source.SYSTEM
OWNERS = ["team:data-engineering"]
RAW_TAGS = layer_tags("raw", GROUP)
STAGING_TAGS = layer_tags("staging", GROUP)


@asset(
    key=[GROUP, "log_data"],
    partitions_def=daily(source.SYSTEM),
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    owners=OWNERS,
    tags=RAW_TAGS,
    kinds={"json"},
    code_version="1",
)
def log_data(context: AssetExecutionContext, raw_store: RawStore) -> MaterializeResult:
    """Sparkify event logs as delivered: `sparkify/log_data/YYYY/MM/YYYY-MM-DD-events.json`
    (JSON lines) in the raw store. Partition: one UTC day; metadata counts files and bytes."""
    days = days_in_window(*context.partition_time_window)
    per_day = {}
    for day in days:
        listed = raw_store.list(source.log_day_prefix(day))
        files = [o for o in listed if source.day_of(o.key) == day]
        per_day[day] = {"files": len(files), "bytes": sum(o.size for o in files)}
    missing = [d.isoformat() for d, v in per_day.items() if v["files"] == 0]
    if missing:
        context.log.warning(f"no log file for {len(missing)} day(s): {', '.join(missing[:10])}")
    add_day_metadata(
        context,
        context.asset_key,
        per_day,
        last_day={
            "days_without_files": len(missing),
            "location": raw_store.uri(source.LOG_PREFIX),
            "per_day": per_day_markdown(per_day),
        },
    )
    return MaterializeResult()


@asset(
    key=[GROUP, "song_data"],
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    owners=OWNERS,
    tags=RAW_TAGS,
    kinds={"json"},
    code_version="1",
)
def song_data(raw_store: RawStore) -> MaterializeResult:
    """Sparkify song catalogue as delivered: `sparkify/song_data/A/B/C/TR….json`, one JSON
    record per line (a subset of the Million Song Dataset). Unpartitioned: replaced whole."""
    files = [o for o in raw_store.list(source.SONG_PREFIX) if source.is_song_file(o.key)]
    return MaterializeResult(
        metadata={
            "files": len(files),
            "bytes": sum(o.size for o in files),
            "location": raw_store.uri(source.SONG_PREFIX),
        }
    )


@asset(
    key=[GROUP, "staging_events"],
    deps=[log_data],
    partitions_def=daily(source.SYSTEM),
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    owners=OWNERS,
    tags=STAGING_TAGS,
    kinds={"python", WAREHOUSE_KIND},
    pool=WAREHOUSE_POOL,
    code_version="1",
)
def staging_events(
    context: AssetExecutionContext, raw_store: RawStore, warehouse: Warehouse
) -> MaterializeResult:
    """Table `sparkify.staging_events`: one row per valid log event, the seed's columns plus
    partition_date, source file/line and load time. Partition: the file's day, replaced
    atomically; bad records go to `sparkify.quarantine` with a reason."""
    days = days_in_window(*context.partition_time_window)
    threshold = get_settings().quarantine_threshold

    def on_day(i: int, stats) -> None:
        day = days[i]
        if stats.files == 0:
            context.log.warning(
                f"{day}: no log file under {raw_store.uri(source.log_day_prefix(day))}*; "
                "the partition is empty"
            )
        if log_this_day(i + 1, len(days)):
            context.log.info(
                f"[{i + 1}/{len(days)}] {day}: {stats.loaded:,} events staged, "
                f"{stats.quarantined:,} quarantined, {stats.repaired_values:,} text values repaired"
            )

    with warehouse.session() as session:
        with failing_over_threshold():
            all_stats = staging.load_events_days(raw_store, session, days, threshold, on_day)
        rows = partition_row_counts(session, staging.EVENTS_TABLE, days)
        whole = table_metadata(
            session,
            staging.EVENTS_TABLE,
            span=("partition_date", days[0], days[-1] + dt.timedelta(days=1)),
            preview_order="ts",
        )
    books = dict(zip(days, all_stats, strict=True))
    whole["per_day"] = per_day_markdown(
        {
            day: {
                "records": stats.records,
                "staged": stats.loaded,
                "quarantined": stats.quarantined,
                "repaired": stats.repaired_values,
            }
            for day, stats in books.items()
        }
    )
    add_day_metadata(
        context,
        context.asset_key,
        {
            day: {**rows[day], **day_books(stats.records, stats.quarantined, stats.files)}
            for day, stats in books.items()
        },
        last_day=whole,
    )
    return MaterializeResult()


@asset(
    key=[GROUP, "staging_songs"],
    deps=[song_data],
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    owners=OWNERS,
    tags=STAGING_TAGS,
    kinds={"python", WAREHOUSE_KIND},
    pool=WAREHOUSE_POOL,
    code_version="1",
)
def staging_songs(
    context: AssetExecutionContext, raw_store: RawStore, warehouse: Warehouse
) -> MaterializeResult:
    """Table `sparkify.staging_songs`: one row per distinct song record of the catalogue
    (exact duplicates and conflicting song_ids quarantined). Unpartitioned: replaced whole."""
    with warehouse.session() as session:
        with failing_over_threshold():
            stats = staging.load_song_catalogue(
                raw_store, session, get_settings().quarantine_threshold
            )
        context.log.info(
            f"{stats.loaded:,} song records staged from {stats.files:,} files, "
            f"{stats.quarantined:,} quarantined"
        )
        metadata = table_metadata(session, staging.SONGS_TABLE, preview_order="song_id")
    metadata.update(
        {
            **quarantine_metadata(stats.records, stats.quarantined),
            "repaired_text_values": stats.repaired_values,
            "files": stats.files,
            "bytes": stats.bytes,
        }
    )
    return MaterializeResult(metadata=metadata)


assets = [log_data, song_data, staging_events, staging_songs]
