"""Sparkify checks: expectation suites on the staging tables, reconciliation with the raw
files, row-count bands and freshness. (Star-schema keys, references and accepted values are
dbt tests in sql/models/sparkify/*.yml; dagster-dbt turns them into checks.)"""

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
from music_dwh.sources import sparkify as source
from music_dwh.staging import sparkify as staging
from music_dwh.tags import WAREHOUSE_POOL

EVENTS_ASSET = AssetKey([source.SYSTEM, "staging_events"])
SONGS_ASSET = AssetKey([source.SYSTEM, "staging_songs"])

PAGES = [
    "NextSong",
    "Home",
    "Login",
    "Logout",
    "Settings",
    "Save Settings",
    "Help",
    "About",
    "Upgrade",
    "Downgrade",
    "Submit Upgrade",
    "Submit Downgrade",
    "Error",
    "Register",
    "Submit Registration",
]

EVENTS_KEYS = Suite(
    name="staging_events_expectations",
    table=staging.EVENTS_TABLE,
    partition_column="partition_date",
    blocking=True,
    expectations=(
        *(
            Expect("ExpectColumnValuesToNotBeNull", {"column": c})
            for c in (
                "ts",
                "sessionid",
                "iteminsession",
                "page",
                "level",
                "auth",
                "source_file",
                "source_line",
            )
        ),
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["source_file", "source_line"]}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "level", "value_set": ["free", "paid"]}),
        Expect(
            "ExpectColumnValuesToBeInSet",
            {"column": "auth", "value_set": ["Logged In", "Logged Out", "Guest", "Cancelled"]},
        ),
    ),
)
EVENTS_DISTRIBUTION = Suite(
    name="staging_events_distribution",
    table=staging.EVENTS_TABLE,
    partition_column="partition_date",
    blocking=False,
    expectations=(
        Expect("ExpectColumnValuesToBeInSet", {"column": "page", "value_set": PAGES}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "gender", "value_set": ["F", "M"]}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": [200, 307, 404]}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "method", "value_set": ["GET", "PUT"]}),
        # Logged-out visitors have no user id; far more than usual means broken logging.
        Expect("ExpectColumnValuesToNotBeNull", {"column": "userid", "mostly": 0.8}),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "length", "min_value": 1, "max_value": 3600, "mostly": 0.999},
        ),
    ),
)
SONGS_KEYS = Suite(
    name="staging_songs_expectations",
    table=staging.SONGS_TABLE,
    blocking=True,
    expectations=(
        Expect("ExpectColumnValuesToNotBeNull", {"column": "song_id"}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "song_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "artist_id"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "title"}),
    ),
)
SONGS_DISTRIBUTION = Suite(
    name="staging_songs_distribution",
    table=staging.SONGS_TABLE,
    blocking=False,
    expectations=(
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "duration", "min_value": 1, "max_value": 3600},
        ),
        Expect(
            "ExpectColumnValuesToBeBetween", {"column": "year", "min_value": 0, "max_value": 2100}
        ),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "artist_latitude", "min_value": -90, "max_value": 90},
        ),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "artist_longitude", "min_value": -180, "max_value": 180},
        ),
    ),
)

suite_checks = [
    suite_check(
        EVENTS_KEYS, EVENTS_ASSET, partitions_def=daily(source.SYSTEM), pool=WAREHOUSE_POOL
    ),
    suite_check(
        EVENTS_DISTRIBUTION, EVENTS_ASSET, partitions_def=daily(source.SYSTEM), pool=WAREHOUSE_POOL
    ),
    suite_check(SONGS_KEYS, SONGS_ASSET, partitions_def=None, pool=WAREHOUSE_POOL),
    suite_check(SONGS_DISTRIBUTION, SONGS_ASSET, partitions_def=None, pool=WAREHOUSE_POOL),
]


@asset_check(
    asset=EVENTS_ASSET,
    name="staging_events_reconciliation",
    description="Blocking: for every day, raw records in the day's log files (counted from the raw "
    "store) = rows staged + rows quarantined. Nothing lost, nothing doubled.",
    blocking=True,
    partitions_def=daily(source.SYSTEM),
    pool=WAREHOUSE_POOL,
)
def staging_events_reconciliation(
    context: AssetCheckExecutionContext, raw_store: RawStore, warehouse: Warehouse
) -> AssetCheckResult:
    with warehouse.session() as session:
        books = daily_books(
            session,
            staging.EVENTS_TABLE,
            staging.QUARANTINE_TABLE,
            window_days(context),
            lambda day: staging.count_records(raw_store, source.log_day_prefix(day)),
        )
    return reconciliation_result(books)


@asset_check(
    asset=SONGS_ASSET,
    name="staging_songs_reconciliation",
    description="Blocking: records in the song files = rows staged + rows quarantined.",
    blocking=True,
    pool=WAREHOUSE_POOL,
)
def staging_songs_reconciliation(raw_store: RawStore, warehouse: Warehouse) -> AssetCheckResult:
    raw = staging.count_records(raw_store, source.SONG_PREFIX)
    with warehouse.session() as session:
        books = snapshot_books(session, staging.SONGS_TABLE, staging.QUARANTINE_TABLE, raw)
    return reconciliation_result({"song catalogue": books})


@asset_check(
    asset=EVENTS_ASSET,
    name="staging_events_row_count_band",
    description=f"{band_description('events')} (a missing, truncated or doubled delivery).",
    partitions_def=daily(source.SYSTEM),
    pool=WAREHOUSE_POOL,
)
def staging_events_row_count_band(
    context: AssetCheckExecutionContext, warehouse: Warehouse
) -> AssetCheckResult:
    days = window_days(context)
    with warehouse.session() as session:
        counts = session.counts_by_day(
            staging.EVENTS_TABLE, days[0] - dt.timedelta(days=BAND_DAYS), days[-1]
        )
    return row_count_band_result(counts, days)


# Freshness: a day's log lands shortly after midnight UTC; by 06:00 the next day it must be
# loaded. Evaluated against the wall clock by the freshness sensor (historical samples are,
# truthfully, stale).
# Dagster 1.13 prefers FreshnessPolicy, which measures time since the last update; these
# checks say what we mean: the newest *day* must be loaded by the deadline.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_checks = build_time_partition_freshness_checks(
        assets=[EVENTS_ASSET],
        deadline_cron="0 6 * * *",
        timezone=get_settings().timezone,
        severity=AssetCheckSeverity.WARN,
    )

checks = [
    *suite_checks,
    staging_events_reconciliation,
    staging_songs_reconciliation,
    staging_events_row_count_band,
    *freshness_checks,
]
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    freshness_sensor = build_sensor_for_freshness_checks(
        freshness_checks=freshness_checks, name="sparkify_freshness_checks_sensor"
    )
