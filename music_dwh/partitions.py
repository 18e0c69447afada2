"""One daily partitioning per source system: a partition is one UTC day of delivered files.

Generated from the systems list (``SOURCE_SYSTEMS`` in ``settings.py``): each system's assets,
checks, dbt models, job, schedule and daily sensor look theirs up with ``daily(system)``.
"""

from dagster import DailyPartitionsDefinition

from music_dwh.settings import SOURCE_SYSTEMS, get_settings

_settings = get_settings()

DAILY: dict[str, DailyPartitionsDefinition] = {
    system: DailyPartitionsDefinition(
        start_date=_settings.starts[system].isoformat(), timezone=_settings.timezone
    )
    for system in SOURCE_SYSTEMS
}


def daily(system: str) -> DailyPartitionsDefinition:
    """The daily partitioning of ``system``: one partition per day from its first day
    (``MUSIC_DWH_<SYSTEM>_START``) in ``MUSIC_DWH_TIMEZONE``."""
    try:
        return DAILY[system]
    except KeyError:
        raise KeyError(
            f"{system!r} is not a registered source system ({', '.join(DAILY)}): "
            "add it to SOURCE_SYSTEMS in music_dwh/settings.py"
        ) from None
