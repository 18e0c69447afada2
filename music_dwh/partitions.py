"""One daily partitioning per source system: a partition is one UTC day of delivered files."""

from dagster import DailyPartitionsDefinition

from music_dwh.settings import get_settings

_settings = get_settings()

sparkify_daily = DailyPartitionsDefinition(
    start_date=_settings.sparkify_start.isoformat(), timezone=_settings.timezone
)
chinook_daily = DailyPartitionsDefinition(
    start_date=_settings.chinook_start.isoformat(), timezone=_settings.timezone
)
