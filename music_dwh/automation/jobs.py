"""Asset jobs: one daily-partitioned job per source system, ``<system>_job``.

Each job selects every asset of its system's group (raw → staging → star → marts) and the
checks that target them. Unpartitioned assets of the group (the song catalogue, the reference
snapshots, the dimensions and marts) ride along in every run: Dagster allows unpartitioned
assets in a partitioned asset job. Because every asset has ``BackfillPolicy.single_run()``, a
backfill of a job over any range is one run (range tags), not one run per day.

Generated from the systems list (``SOURCE_SYSTEMS`` in ``settings.py``); the description is the
contract's ``JOB_DESCRIPTION`` (``music_dwh/sources/<system>.py``).
"""

from dagster import AssetSelection, define_asset_job

from music_dwh.partitions import daily
from music_dwh.settings import SOURCE_SYSTEMS
from music_dwh.sources import SYSTEMS


def system_job(system: str):
    """Every asset of ``system``'s group and its checks, for a day or a range of days."""
    return define_asset_job(
        name=f"{system}_job",
        selection=AssetSelection.groups(system),
        partitions_def=daily(system),
        description=SYSTEMS[system].JOB_DESCRIPTION,
    )


JOBS_BY_SYSTEM = {system: system_job(system) for system in SOURCE_SYSTEMS}
jobs = list(JOBS_BY_SYSTEM.values())
