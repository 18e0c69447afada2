"""Daily schedules: each system's job for the day that just ended, ``<system>_daily_schedule``.

The tick for day D runs at 02:00 of D+1 in ``MUSIC_DWH_TIMEZONE`` (the partitions' timezone,
default UTC) and materializes partition D, an empty partition when nothing was delivered. The
sensors (``sensors.py``) react to deliveries instead; either is safe to run alongside the other
(a partition load is idempotent). Both start stopped: turn them on in the UI (Automation).
Generated from the jobs, one per source system (``jobs.py``).
"""

from dagster import (
    DefaultScheduleStatus,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
)

from music_dwh.automation.jobs import JOBS_BY_SYSTEM
from music_dwh.sources import SYSTEMS

HOUR_OF_DAY = 2  # after the nightly deliveries, before the 06:00 freshness deadline
_AT = f"{HOUR_OF_DAY:02d}:00"


def daily_schedule(system: str, job) -> ScheduleDefinition:
    """``system``'s job for yesterday's partition, every day at ``HOUR_OF_DAY``."""
    title = SYSTEMS[system].TITLE
    return build_schedule_from_partitioned_job(
        job,
        name=f"{system}_daily_schedule",
        description=f"Loads yesterday's {title} partition every day at {_AT} (MUSIC_DWH_TIMEZONE).",
        hour_of_day=HOUR_OF_DAY,
        default_status=DefaultScheduleStatus.STOPPED,
    )


SCHEDULES_BY_SYSTEM = {
    system: daily_schedule(system, job) for system, job in JOBS_BY_SYSTEM.items()
}
schedules = list(SCHEDULES_BY_SYSTEM.values())
