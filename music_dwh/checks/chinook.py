"""Chinook checks: expectation suites on every staging table, reconciliation with the raw CSV
files, row-count bands and freshness. (Invoice totals against their lines, keys, references
and accepted values of the star schema and marts are dbt tests under sql/.)"""

import datetime as dt
import warnings

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetKey,
    asset_check,
    build_sensor_for_freshness_checks,
    build_time_partition_freshness_checks,
)

from music_dwh.checks.common import (
    BAND_DAYS,
    band_description,
    daily_books,
    reconciliation_result,
    row_count_band_result,
    snapshot_books,
)
from music_dwh.checks.expectations import Expect, Suite, suite_check, window_days
from music_dwh.partitions import daily
from music_dwh.resources.raw_store import RawStore
from music_dwh.resources.warehouse import Warehouse
from music_dwh.settings import get_settings
from music_dwh.sources import chinook as source
from music_dwh.sources.chinook import PRIMARY_KEYS, REFERENCE_TABLES, invoice_day_key, reference_key
from music_dwh.staging import chinook as staging
from music_dwh.tags import WAREHOUSE_POOL

MEDIA_TYPES = [
    "MPEG audio file",
    "Protected AAC audio file",
    "Protected MPEG-4 video file",
    "Purchased AAC audio file",
    "AAC audio file",
]


def _key(table: str) -> AssetKey:
    return AssetKey([source.SYSTEM, f"staging_{table}"])


def _not_null_unique(columns: tuple[str, ...]) -> tuple[Expect, ...]:
    expectations = [Expect("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]
    if len(columns) == 1:
        expectations.append(Expect("ExpectColumnValuesToBeUnique", {"column": columns[0]}))
    else:
        expectations.append(
            Expect("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})
        )
    return tuple(expectations)


REFERENCE_SUITES = [
    Suite(
        name=f"staging_{table}_expectations",
        table=staging.staging_table(table),
        blocking=True,
        expectations=_not_null_unique(PRIMARY_KEYS[table])
        + (
            (Expect("ExpectColumnValuesToBeInSet", {"column": "name", "value_set": MEDIA_TYPES}),)
            if table == "media_type"
            else ()
        ),
    )
    for table in REFERENCE_TABLES
]
TRACK_DISTRIBUTION = Suite(
    name="staging_track_distribution",
    table=staging.staging_table("track"),
    blocking=False,
    expectations=(
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "unit_price", "min_value": 0, "max_value": 10},
        ),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {
                "column": "milliseconds",
                "min_value": 1000,
                "max_value": 6 * 3600 * 1000,
                "mostly": 0.99,
            },
        ),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "genre_id", "mostly": 0.95}),
    ),
)
INVOICE_KEYS = Suite(
    name="staging_invoice_expectations",
    table=staging.staging_table("invoice"),
    partition_column="partition_date",
    blocking=True,
    expectations=_not_null_unique(("invoice_id",))
    + tuple(
        Expect("ExpectColumnValuesToNotBeNull", {"column": c})
        for c in ("customer_id", "invoice_date", "total")
    ),
)
INVOICE_DISTRIBUTION = Suite(
    name="staging_invoice_distribution",
    table=staging.staging_table("invoice"),
    partition_column="partition_date",
    blocking=False,
    expectations=(
        Expect(
            "ExpectColumnValuesToBeBetween", {"column": "total", "min_value": 0, "max_value": 100}
        ),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "billing_country"}),
    ),
)
LINE_KEYS = Suite(
    name="staging_invoice_line_expectations",
    table=staging.staging_table("invoice_line"),
    partition_column="partition_date",
    blocking=True,
    expectations=_not_null_unique(("invoice_line_id",))
    + tuple(
        Expect("ExpectColumnValuesToNotBeNull", {"column": c})
        for c in ("invoice_id", "track_id", "unit_price", "quantity")
    ),
)
LINE_DISTRIBUTION = Suite(
    name="staging_invoice_line_distribution",
    table=staging.staging_table("invoice_line"),
    partition_column="partition_date",
    blocking=False,
    expectations=(
        Expect(
            "ExpectColumnValuesToBeBetween", {"column": "quantity", "min_value": 1, "max_value": 10}
        ),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "unit_price", "min_value": 0.5, "max_value": 2.5},
        ),
    ),
)

suite_checks = [
    *(
        suite_check(s, _key(t), partitions_def=None, pool=WAREHOUSE_POOL)
        for s, t in zip(REFERENCE_SUITES, REFERENCE_TABLES, strict=True)
    ),
    suite_check(TRACK_DISTRIBUTION, _key("track"), partitions_def=None, pool=WAREHOUSE_POOL),
    *(
        suite_check(s, _key(t), partitions_def=daily(source.SYSTEM), pool=WAREHOUSE_POOL)
        for s, t in (
            (INVOICE_KEYS, "invoice"),
            (INVOICE_DISTRIBUTION, "invoice"),
            (LINE_KEYS, "invoice_line"),
            (LINE_DISTRIBUTION, "invoice_line"),
        )
    ),
]


def _reference_reconciliation(table: str):
    @asset_check(
        asset=_key(table),
        name=f"staging_{table}_reconciliation",
        description=f"Blocking: data rows of `{reference_key(table)}` = rows staged + rows quarantined.",
        blocking=True,
        pool=WAREHOUSE_POOL,
    )
    def _check(raw_store: RawStore, warehouse: Warehouse) -> AssetCheckResult:
        raw = staging.count_records(raw_store, reference_key(table))
        with warehouse.session() as session:
            books = snapshot_books(
                session, staging.staging_table(table), staging.QUARANTINE_TABLE, raw
            )
        return reconciliation_result({reference_key(table): books})

    return _check


def _invoice_reconciliation(table: str):
    @asset_check(
        asset=_key(table),
        name=f"staging_{table}_reconciliation",
        description=f"Blocking: for every day, data rows of the day's `{table}.csv` = rows staged + rows quarantined.",
        blocking=True,
        partitions_def=daily(source.SYSTEM),
        pool=WAREHOUSE_POOL,
    )
    def _check(
        context: AssetCheckExecutionContext, raw_store: RawStore, warehouse: Warehouse
    ) -> AssetCheckResult:
        days = window_days(context)
        with warehouse.session() as session:
            if not staging.known_ids(session, "track", "track_id") or not staging.known_ids(
                session, "customer", "customer_id"
            ):
                # Nothing is staged before the track and customer snapshots (assets/chinook.py):
                # the days wait for them, and are reconciled by the run that stages them.
                return AssetCheckResult(
                    passed=True, metadata={"waiting_for": "track and customer snapshots"}
                )
            # Days without a folder (no sales) reconcile trivially and are left out of the books.
            sale_days = set(staging.invoice_days_between(raw_store, days[0], days[-1]))
            books = daily_books(
                session,
                staging.staging_table(table),
                staging.QUARANTINE_TABLE,
                days,
                lambda day: staging.count_records(raw_store, invoice_day_key(day, table)),
                keep=lambda day, staged, quarantined: (
                    day in sale_days or bool(staged or quarantined)
                ),
            )
        return reconciliation_result(books)

    return _check


@asset_check(
    asset=_key("invoice"),
    name="staging_invoice_row_count_band",
    description=f"{band_description('invoices')}.",
    partitions_def=daily(source.SYSTEM),
    pool=WAREHOUSE_POOL,
)
def staging_invoice_row_count_band(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> AssetCheckResult:
    days = window_days(context)
    with warehouse.session() as session:
        counts = session.counts_by_day(
            staging.staging_table("invoice"), days[0] - dt.timedelta(days=BAND_DAYS), days[-1]
        )
    # A store can have days without sales; judge only the days that had a delivery.
    return row_count_band_result(counts, [d for d in days if counts.get(d)])


# Freshness: a day's sales are exported overnight and must be loaded by 09:00 the next day.
# Dagster 1.13 prefers FreshnessPolicy, which measures time since the last update; these
# checks say what we mean: the newest *day* must be loaded by the deadline.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_checks = build_time_partition_freshness_checks(
        assets=[_key("invoice")],
        deadline_cron="0 9 * * *",
        timezone=get_settings().timezone,
        severity=AssetCheckSeverity.WARN,
    )

checks = [
    *suite_checks,
    *(_reference_reconciliation(t) for t in REFERENCE_TABLES),
    _invoice_reconciliation("invoice"),
    _invoice_reconciliation("invoice_line"),
    staging_invoice_row_count_band,
    *freshness_checks,
]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_sensor = build_sensor_for_freshness_checks(
        freshness_checks=freshness_checks, name="chinook_freshness_checks_sensor"
    )
