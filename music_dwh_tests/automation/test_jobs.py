"""The per-system jobs, and backfills of them: a 30-day range is one run, not thirty.

The backfill test goes through Dagster's own backfill daemon iteration against the project's
code location (a gRPC code server, like ``dagster dev``) and a queued run coordinator, so the
runs it creates are inspected without being executed.
"""

from __future__ import annotations

import logging
import time

import pytest
from dagster import AssetSelection

from music_dwh.automation.jobs import JOBS_BY_SYSTEM
from music_dwh_tests.conftest import REPO_ROOT

RANGE_START, RANGE_END = "2018-11-01", "2018-11-30"


@pytest.fixture(scope="module")
def defs():
    from music_dwh.definitions import defs

    return defs


@pytest.mark.parametrize("system", ["sparkify", "chinook"])
def test_each_job_selects_every_asset_and_check_of_its_system(defs, system):
    from music_dwh import partitions

    graph = defs.resolve_asset_graph()
    job = defs.resolve_job_def(JOBS_BY_SYSTEM[system].name)
    group = AssetSelection.groups(system).resolve(graph)
    assert set(job.asset_layer.selected_asset_keys) == group
    # partitioned and unpartitioned assets together (raw → staging → star → marts)
    assert {graph.get(k).partitions_def is None for k in group} == {True, False}
    assert job.partitions_def == partitions.daily(system)
    checks_of_group = {c for c in graph.asset_check_keys if c.asset_key in group}
    assert checks_of_group and set(job.asset_layer.asset_graph.asset_check_keys) == checks_of_group


@pytest.fixture(scope="module")
def daemon_workspace():
    """The project's code location served like `dagster dev` does, on a throwaway instance whose
    runs stay queued (nothing executes)."""
    from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
    from dagster._core.workspace.load_target import ModuleTarget

    queued = {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}
    with instance_for_test(overrides={"run_coordinator": queued}) as instance:
        target = ModuleTarget("music_dwh.definitions", "defs", str(REPO_ROOT), "music_dwh")
        with create_test_daemon_workspace_context(target, instance) as context:
            yield instance, context


def _run_backfill_daemon(context) -> None:
    from dagster._daemon.backfill import execute_backfill_iteration

    list(execute_backfill_iteration(context, logging.getLogger("music_dwh.test.backfill")))


def _days():
    import datetime as dt

    first = dt.date.fromisoformat(RANGE_START)
    return [(first + dt.timedelta(days=i)).isoformat() for i in range(30)]


def test_a_30_day_backfill_of_the_sparkify_job_is_one_run_over_the_range(daemon_workspace):
    """What the UI launches from Jobs → sparkify_job → Materialize all → a range of days."""
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

    instance, context = daemon_workspace
    request_context = context.create_request_context()
    location = request_context.get_code_location("music_dwh")
    repo = next(iter(location.get_repositories().values()))
    partition_set = repo.get_partition_set("sparkify_job_partition_set")
    group = sorted(AssetSelection.groups("sparkify").resolve(request_context.asset_graph))
    before = {r.run_id for r in instance.get_runs()}

    instance.add_backfill(
        PartitionBackfill(
            backfill_id="sparkify30",
            partition_set_origin=partition_set.get_remote_origin(),
            status=BulkActionStatus.REQUESTED,
            partition_names=_days(),
            from_failure=False,
            reexecution_steps=None,
            tags={},
            backfill_timestamp=time.time(),
            asset_selection=group,
        )
    )
    _run_backfill_daemon(context)
    _run_backfill_daemon(context)  # a second pass submits nothing more

    runs = [r for r in instance.get_runs() if r.run_id not in before]
    assert len(runs) == 1, [(r.tags, r.asset_selection) for r in runs]
    (run,) = runs
    assert run.job_name == "sparkify_job"
    assert run.tags["dagster/asset_partition_range_start"] == RANGE_START
    assert run.tags["dagster/asset_partition_range_end"] == RANGE_END
    assert run.tags["dagster/backfill"] == "sparkify30"
    assert sorted(run.asset_selection) == group  # the song catalogue and dimensions ride along


def test_an_asset_backfill_of_the_group_loads_the_days_in_one_run_not_thirty(daemon_workspace):
    """What the UI launches from the asset graph (no job): an asset backfill. It runs the graph
    in a few waves, each wave one run over the whole range."""
    from dagster._core.execution.backfill import PartitionBackfill

    instance, context = daemon_workspace
    graph = context.create_request_context().asset_graph
    group = sorted(AssetSelection.groups("sparkify").resolve(graph))
    before = {r.run_id for r in instance.get_runs()}
    instance.add_backfill(
        PartitionBackfill.from_asset_partitions(
            backfill_id="sparkify30assets",
            asset_graph=graph,
            partition_names=_days(),
            asset_selection=group,
            backfill_timestamp=time.time(),
            tags={},
            dynamic_partitions_store=instance,
            all_partitions=False,
            title=None,
            description=None,
            run_config=None,
        )
    )
    _run_backfill_daemon(context)
    runs = [r for r in instance.get_runs() if r.run_id not in before]
    partitioned = [r for r in runs if "dagster/asset_partition_range_start" in r.tags]
    assert len(partitioned) == 1, [r.tags for r in runs]
    assert partitioned[0].tags["dagster/asset_partition_range_start"] == RANGE_START
    assert partitioned[0].tags["dagster/asset_partition_range_end"] == RANGE_END
    assert not [r for r in runs if "dagster/partition" in r.tags]  # no run per day


# A third source system, registered the way the README's recipe says (its contract in
# music_dwh.sources.SYSTEMS, its line in settings.SOURCE_SYSTEMS), before anything generated
# from them is imported; its assets module is one daily asset. Run in a fresh interpreter: the
# generated definitions are module-level.
THIRD_SYSTEM = """
import datetime as dt, json, sys, types, warnings
from pathlib import Path
warnings.filterwarnings("ignore")
from music_dwh import settings, sources

system, raw = "jamendo", sys.argv[1]
settings.SOURCE_SYSTEMS[system] = "2024-01-01"
settings.DEFAULTS[settings.start_variable(system)] = "2024-01-01"
contract = types.ModuleType(f"music_dwh.sources.{system}")
contract.SYSTEM, contract.TITLE, contract.DAILY_PREFIX = system, "Jamendo", "jamendo/plays/"
contract.day_of = lambda key: dt.date.fromisoformat(Path(key).stem)
contract.SNAPSHOT_STAGING_TABLES = ()
contract.JOB_DESCRIPTION = "Every Jamendo asset and its checks, for a day or a range of days."
contract.DAILY_SENSOR = "jamendo_play_sensor"
contract.DAILY_SENSOR_DESCRIPTION = "Loads each day whose Jamendo play file is new."
sources.SYSTEMS[system] = contract

from dagster import (Definitions, DagsterInstance, asset, build_schedule_context,
                     build_sensor_context)
from music_dwh.assets.dbt import DBT_ASSETS
from music_dwh.automation import jobs, schedules, sensors
from music_dwh.partitions import daily
from music_dwh.resources.raw_store import open_raw_store

@asset(key=[system, "plays"], group_name=system, partitions_def=daily(system))
def plays():
    pass

job = jobs.JOBS_BY_SYSTEM[system]
schedule = schedules.SCHEDULES_BY_SYSTEM[system]
daily_sensor = sensors.DAILY_SENSORS[system]
defs = Definitions(assets=[plays], jobs=[job], schedules=[schedule], sensors=[daily_sensor])
repo = defs.get_repository_def()
tick = dt.datetime(2024, 1, 4, 2, tzinfo=dt.UTC)
(scheduled,) = schedule.evaluate_tick(
    build_schedule_context(scheduled_execution_time=tick, repository_def=repo)
).run_requests
store = open_raw_store(raw)
(Path(raw) / "jamendo/plays").mkdir(parents=True)
(Path(raw) / "jamendo/plays/2024-01-02.csv").write_text("track_id\\n1\\n")
sensed = daily_sensor.evaluate_tick(build_sensor_context(
    instance=DagsterInstance.ephemeral(), repository_def=repo,
    resources={"raw_store": store}, sensor_name=daily_sensor.name,
)).run_requests
print(json.dumps({
    "first_day": daily(system).get_first_partition_key(),
    "job": [job.name, repo.get_job(job.name).partitions_def == daily(system), job.description],
    "schedule": [schedule.name, schedule.job_name, schedule.description, scheduled.partition_key],
    "sensor": [daily_sensor.name, daily_sensor.job_name, [r.partition_key for r in sensed]],
    "dbt_models": {s: len(models) for s, models in DBT_ASSETS.items()},
    "registered": [
        [j.name for j in jobs.jobs], [s.name for s in schedules.schedules],
        [s.name for s in sensors.sensors],
    ],
}))
"""


def test_a_third_system_registered_in_the_lists_gets_its_partitions_job_schedule_and_sensor(
    tmp_path,
):
    """The recipe: no line in partitions.py, jobs.py, schedules.py or sensors.py for a system
    with daily deliveries and no snapshots."""
    import json
    import subprocess
    import sys

    from music_dwh_tests.conftest import REPO_ROOT

    proc = subprocess.run(
        [sys.executable, "-c", THIRD_SYSTEM, str(tmp_path / "raw")],
        cwd=REPO_ROOT,
        env={"PATH": "/usr/bin:/bin", "DO_NOT_TRACK": "1", "HOME": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["first_day"] == "2024-01-01"
    assert result["job"] == [
        "jamendo_job",
        True,
        "Every Jamendo asset and its checks, for a day or a range of days.",
    ]
    assert result["schedule"] == [
        "jamendo_daily_schedule",
        "jamendo_job",
        "Loads yesterday's Jamendo partition every day at 02:00 (MUSIC_DWH_TIMEZONE).",
        "2024-01-03",
    ]
    assert result["sensor"] == ["jamendo_play_sensor", "jamendo_job", ["2024-01-02"]]
    # Its dbt asset definition too: none until sql/models/jamendo/ holds models.
    assert result["dbt_models"] == {"sparkify": 1, "chinook": 1, "jamendo": 0}
    jobs, schedules, sensors = result["registered"]
    assert jobs == ["sparkify_job", "chinook_job", "jamendo_job"]
    assert schedules[-1] == "jamendo_daily_schedule" and len(schedules) == 3
    assert "jamendo_play_sensor" in sensors and "sparkify_log_sensor" in sensors
