"""``music-dwh load``'s run (music_dwh/runs/load.py) in this process, on a real DuckDB file and a
real Dagster instance made from the shipped dagster.yaml (run retries on)."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid

from dagster import DagsterInstance, DagsterRunStatus

from music_dwh.automation.alerts import will_be_retried
from music_dwh.framework import MAX_RETRIES_TAG, WILL_RETRY_TAG
from music_dwh.runs.load import LoadPlan, run_load
from music_dwh_tests.conftest import REPO_ROOT, spoil_log_day

DAY = dt.date(2018, 11, 1)


def test_a_failed_load_run_is_not_marked_as_going_to_be_retried(workspace):
    """Nothing re-executes a ``music-dwh load`` run (the daemon needs a code location), so it
    says so: Dagster then tags it ``dagster/will_retry=false`` whatever made it fail (a step,
    or its process lost), and its failure alerts at once."""
    workspace.dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", workspace.dagster_home / "dagster.yaml")
    workspace.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "1",
        "--events-per-day",
        "50",
        "--songs",
        "10",
        "--out",
        str(workspace.raw),
    )
    spoil_log_day(workspace.raw, DAY.isoformat())
    plan = LoadPlan("sparkify", DAY, DAY, run_id=str(uuid.uuid4()), through="staging")
    said: list[str] = []
    assert run_load(plan, said.append) is False
    with DagsterInstance.get() as instance:
        assert instance.run_retries_enabled  # as shipped: the tag below is decided
        run = instance.get_run_by_id(plan.run_id)
    assert run.status == DagsterRunStatus.FAILURE
    assert run.tags[MAX_RETRIES_TAG] == "0"
    assert run.tags[WILL_RETRY_TAG] == "false"
    assert not will_be_retried(run)
