"""``music-dwh load``'s progress (music_dwh/cli/progress.py): a staging step's line and the
run's tally count each day's own books, quarantined records and days without a file. A real
in-process range run of one staging asset, with the progress logger."""

import datetime as dt
import re

from dagster import (
    AssetExecutionContext,
    BackfillPolicy,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    MaterializeResult,
    asset,
)

from music_dwh.assets.loads import day_books, quarantine_metadata
from music_dwh.assets.metadata import add_day_metadata, days_in_window
from music_dwh.cli.progress import LOGGER_NAME, Counts, close_progress, progress_logger
from music_dwh.framework import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

DAYS = [dt.date(2018, 11, 1) + dt.timedelta(days=n) for n in range(3)]
# Each day's records, quarantined records and files: the second day has two bad lines, the
# third no file.
BOOKS = {DAYS[0]: (10, 0, 1), DAYS[1]: (10, 2, 1), DAYS[2]: (0, 0, 0)}


@asset(
    key=["sparkify", "staging_events"],
    partitions_def=DailyPartitionsDefinition("2018-11-01"),
    backfill_policy=BackfillPolicy.single_run(),
)
def staging_events(context: AssetExecutionContext) -> MaterializeResult:
    days = days_in_window(*context.partition_time_window)
    add_day_metadata(
        context, context.asset_key, {day: day_books(*BOOKS[day]) for day in days}, last_day={}
    )
    # The range's totals, copied by Dagster to every day unless the day has its own books.
    return MaterializeResult(metadata=quarantine_metadata(20, 2))


def test_a_staging_step_counts_quarantined_records_and_days_without_a_file(capsys):
    layers = {"sparkify/staging_events": "staging"}
    config = {"system": "sparkify", "layers": layers, "quarantine_table": "sparkify.quarantine"}
    defs = Definitions(assets=[staging_events], loggers={LOGGER_NAME: progress_logger})
    with DagsterInstance.ephemeral() as instance:
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: str(DAYS[0]),
                ASSET_PARTITION_RANGE_END_TAG: str(DAYS[-1]),
            },
            run_config={"loggers": {LOGGER_NAME: {"config": config}}},
        )
    close_progress()
    assert result.success
    (line,) = [x for x in capsys.readouterr().out.splitlines() if "staging_events" in x]
    assert re.fullmatch(
        r"  ✓ sparkify__staging_events \([\d.]+ s, 3 day\(s\) staged, 2 record\(s\) "
        r"quarantined in sparkify\.quarantine, 1 day\(s\) without a file\)",
        line,
    ), line

    tally = Counts("sparkify", layers, "sparkify.quarantine")
    for event in result.all_events:
        tally.add(event)
    assert tally.quarantined == 2 and tally.days_without_file == {str(DAYS[2])}
    assert tally.data_problems(tally.quarantined, len(tally.days_without_file)) == [
        "2 record(s) quarantined in sparkify.quarantine",
        "1 day(s) without a file",
    ]
