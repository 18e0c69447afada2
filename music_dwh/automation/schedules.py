"""Daily schedules: each system's job for the day that just ended.

The tick for day D runs at 02:00 of D+1 in ``MUSIC_DWH_TIMEZONE`` (the partitions' timezone,
default UTC) and materializes partition D, an empty partition when nothing was delivered. The
sensors (``sensors.py``) react to deliveries instead; either is safe to run alongside the other
(a partition load is idempotent). Both start stopped: turn them on in the UI (Automation).
"""

from dagster import DefaultScheduleStatus, build_schedule_from_partitioned_job

from music_dwh.automation.jobs import chinook_job, sparkify_job

HOUR_OF_DAY = 2  # after the nightly deliveries, before the 06:00 freshness deadline
_AT = f"{HOUR_OF_DAY:02d}:00"

sparkify_daily_schedule = build_schedule_from_partitioned_job(
    sparkify_job,
    name="sparkify_daily_schedule",
    description=f"Loads yesterday's Sparkify partition every day at {_AT} (MUSIC_DWH_TIMEZONE).",
    hour_of_day=HOUR_OF_DAY,
    default_status=DefaultScheduleStatus.STOPPED,
)

chinook_daily_schedule = build_schedule_from_partitioned_job(
    chinook_job,
    name="chinook_daily_schedule",
    description=f"Loads yesterday's Chinook partition every day at {_AT} (MUSIC_DWH_TIMEZONE).",
    hour_of_day=HOUR_OF_DAY,
    default_status=DefaultScheduleStatus.STOPPED,
)

schedules = [sparkify_daily_schedule, chinook_daily_schedule]
