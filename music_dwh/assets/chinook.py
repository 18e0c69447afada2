"""Chinook (the digital music store): raw CSV deliveries and the staging tables loaded from them.

Reference snapshots (tracks, albums, customers …) are replaced whole; invoices arrive as one
folder per day of sales and are loaded day by day, invoices and lines together. The star
schema and sales marts on top are dbt models in ``sql/models/chinook``.
"""

import datetime as dt

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
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
from music_dwh.sources import chinook as source
from music_dwh.sources.chinook import REFERENCE_TABLES, reference_key
from music_dwh.staging import chinook as staging
from music_dwh.tags import WAREHOUSE_KIND, WAREHOUSE_POOL, layer_tags

GROUP = source.SYSTEM
OWNERS = ["team:data-engineering"]
RAW_TAGS = layer_tags("raw", GROUP)
STAGING_TAGS = layer_tags("staging", GROUP)
NAMES = ("invoice", "invoice_line")  # a day's two invoice tables, loaded together


@asset(
    key=[GROUP, "reference_files"],
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    owners=OWNERS,
    tags=RAW_TAGS,
    kinds={"csv"},
    code_version="1",
)
def reference_files(context: AssetExecutionContext, raw_store: RawStore) -> MaterializeResult:
    """Chinook reference snapshots as delivered: `chinook/reference/<table>.csv` for artists,
    albums, tracks, genres, media types, playlists, customers and employees. Unpartitioned:
    each delivery replaces the previous one."""
    present = {o.key: o for o in raw_store.list(source.REFERENCE_PREFIX)}
    rows = {}
    for table in REFERENCE_TABLES:
        obj = present.get(reference_key(table))
        rows[table] = obj.size if obj else None
    missing = [t for t, size in rows.items() if size is None]
    if missing:
        context.log.warning(f"reference snapshot(s) missing: {', '.join(missing)}")
    table = "\n".join(
        ["| file | bytes |", "|---|---|"]
        + [
            f"| {reference_key(t)} | {'missing' if s is None else f'{s:,}'} |"
            for t, s in rows.items()
        ]
    )
    return MaterializeResult(
        metadata={
            "files": len(rows) - len(missing),
            "bytes": sum(s or 0 for s in rows.values()),
            "missing": len(missing),
            "location": raw_store.uri(source.REFERENCE_PREFIX),
            "snapshots": MetadataValue.md(table),
        }
    )


@asset(
    key=[GROUP, "invoice_files"],
    partitions_def=daily(source.SYSTEM),
    backfill_policy=BackfillPolicy.single_run(),
    group_name=GROUP,
    owners=OWNERS,
    tags=RAW_TAGS,
    kinds={"csv"},
    code_version="1",
)
def invoice_files(context: AssetExecutionContext, raw_store: RawStore) -> MaterializeResult:
    """Chinook sales as delivered: `chinook/invoices/YYYY/MM/DD/invoice.csv` and
    `invoice_line.csv`. Partition: one day; a day without a folder had no sales."""
    days = days_in_window(*context.partition_time_window)
    delivered = staging.invoice_files_by_day(raw_store, days[0], days[-1])
    per_day = {
        day: {
            "files": len(delivered.get(day, {})),
            "bytes": sum(o.size for o in delivered.get(day, {}).values()),
        }
        for day in days
    }
    add_day_metadata(
        context,
        context.asset_key,
        per_day,
        last_day={
            "days_with_sales": len(delivered),
            "days_without_sales": len(days) - len(delivered),
            "location": raw_store.uri(source.INVOICE_PREFIX),
        },
    )
    return MaterializeResult()


def _staging_spec(table: str, deps: list[AssetKey], description: str, **kwargs) -> AssetSpec:
    return AssetSpec(
        key=[GROUP, f"staging_{table}"],
        deps=deps,
        description=description,
        group_name=GROUP,
        owners=OWNERS,
        tags=STAGING_TAGS,
        kinds={"python", WAREHOUSE_KIND},
        code_version="1",
        **kwargs,
    )


REFERENCE_SPECS = [
    _staging_spec(
        table,
        [reference_files.key],
        f"Table `chinook.staging_{table}`: one row per valid row of `chinook/reference/{table}.csv` "
        "plus source file/line and load time. Unpartitioned: replaced whole with each snapshot.",
    )
    for table in REFERENCE_TABLES
]


@multi_asset(
    name="chinook_reference_staging",
    specs=REFERENCE_SPECS,
    can_subset=True,
    backfill_policy=BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def reference_staging(context: AssetExecutionContext, raw_store: RawStore, warehouse: Warehouse):
    """Loads each selected reference snapshot into its staging table."""
    threshold = get_settings().quarantine_threshold
    with warehouse.session() as session:
        for table in REFERENCE_TABLES:
            key = AssetKey([GROUP, f"staging_{table}"])
            if key not in context.selected_asset_keys:
                continue
            with failing_over_threshold():
                stats = staging.load_reference_table(raw_store, session, table, threshold)
            if stats.files == 0:
                context.log.warning(
                    f"{raw_store.uri(reference_key(table))} is missing: staging_{table} is now empty"
                )
            context.log.info(
                f"staging_{table}: {stats.loaded:,} rows staged, {stats.quarantined:,} quarantined"
            )
            metadata = table_metadata(session, staging.staging_table(table))
            metadata.update(quarantine_metadata(stats.records, stats.quarantined))
            yield MaterializeResult(asset_key=key, metadata=metadata)


# Lines are checked against the track and customer snapshots, so those load first.
_INVOICE_DEPS = [
    invoice_files.key,
    AssetKey([GROUP, "staging_track"]),
    AssetKey([GROUP, "staging_customer"]),
]
INVOICE_SPECS = [
    _staging_spec(
        "invoice",
        _INVOICE_DEPS,
        "Table `chinook.staging_invoice`: one row per valid invoice of the day's `invoice.csv`. "
        "Partition: the invoice day, replaced atomically together with its lines.",
        partitions_def=daily(source.SYSTEM),
    ),
    _staging_spec(
        "invoice_line",
        _INVOICE_DEPS,
        "Table `chinook.staging_invoice_line`: one row per valid line of the day's "
        "`invoice_line.csv`. Partition: the invoice day, replaced with its invoices.",
        partitions_def=daily(source.SYSTEM),
    ),
]


@multi_asset(
    name="chinook_invoice_staging",
    specs=INVOICE_SPECS,
    backfill_policy=BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
)
def invoice_staging(context: AssetExecutionContext, raw_store: RawStore, warehouse: Warehouse):
    """Loads each day's invoices and lines in one transaction per day."""
    days = days_in_window(*context.partition_time_window)
    threshold = get_settings().quarantine_threshold
    per_day = {}
    # Each day's raw records and quarantined ones, per table; days without a write have none.
    books = {name: dict.fromkeys(days, day_books(0, 0, 0)) for name in NAMES}
    delivered = staging.invoice_files_by_day(raw_store, days[0], days[-1])
    with warehouse.session() as session:
        tracks = staging.known_ids(session, "track", "track_id")
        customers = staging.known_ids(session, "customer", "customer_id")
        if not tracks or not customers:
            # Every line would be quarantined for want of its track or customer, and the day
            # fail its quarantine threshold: invoices mean nothing before the reference
            # snapshots. Nothing is staged; the reference run re-stages every delivered day.
            missing = [t for t, ids in (("track", tracks), ("customer", customers)) if not ids]
            message = (
                f"no {' and no '.join(missing)} snapshot loaded yet: {len(delivered):,} delivered "
                "day(s) not staged; they are staged when chinook/reference/"
                f"{{{','.join(missing)}}}.csv arrives (its run re-stages every delivered day)"
            )
            context.log.warning(message)
            for name in NAMES:
                key = AssetKey([GROUP, f"staging_{name}"])
                add_day_metadata(
                    context,
                    key,
                    {day: day_books(0, 0, 0) for day in days},
                    last_day={
                        "waiting_for": MetadataValue.text(
                            f"reference snapshot(s): {', '.join(missing)}"
                        ),
                        "note": MetadataValue.text(message),
                    },
                )
                yield MaterializeResult(asset_key=key)
            return
        # A day without a folder is a day without sales; it needs a write only when it has
        # rows from an earlier delivery to remove.
        to_load = set(delivered) | staging.days_with_rows(session, days[0], days[-1])
        load_days = [day for day in days if day in to_load]

        def on_day(i: int, inv, lines) -> None:
            day = load_days[i]
            for name, stats in (("invoice", inv), ("invoice_line", lines)):
                books[name][day] = day_books(stats.records, stats.quarantined, stats.files)
            per_day[day] = {
                "invoices": inv.loaded,
                "lines": lines.loaded,
                "quarantined": inv.quarantined + lines.quarantined,
            }
            if log_this_day(i + 1, len(load_days)):
                context.log.info(
                    f"[{i + 1}/{len(load_days)}] {day}: {inv.loaded:,} invoices, "
                    f"{lines.loaded:,} lines judged, {inv.quarantined + lines.quarantined:,} "
                    "quarantined"
                )

        # One transaction for the run's days (staging/chinook.py: load_invoice_days).
        with failing_over_threshold():
            staging.load_invoice_days(
                raw_store, session, load_days, threshold, tracks, customers, delivered, on_day
            )
        context.log.info(
            f"{len(delivered):,} of {len(days):,} days had sales; {len(to_load):,} days written"
        )
        window = ("partition_date", days[0], days[-1] + dt.timedelta(days=1))
        for name in NAMES:
            table = staging.staging_table(name)
            rows = partition_row_counts(session, table, days)
            whole = table_metadata(session, table, span=window)
            if name == "invoice":
                whole["per_day"] = per_day_markdown(per_day)
            key = AssetKey([GROUP, f"staging_{name}"])
            add_day_metadata(
                context, key, {d: {**rows[d], **books[name][d]} for d in days}, last_day=whole
            )
            yield MaterializeResult(asset_key=key)


assets = [reference_files, invoice_files, reference_staging, invoice_staging]
