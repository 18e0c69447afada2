"""Daily schedules: each tick loads the previous day's partition of its system's job, in the
timezone of the settings."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from dagster import build_schedule_context

from music_dwh.automation.schedules import SCHEDULES_BY_SYSTEM
from music_dwh_tests.conftest import REPO_ROOT


@pytest.mark.parametrize(
    "schedule, tick, expected",
    [
        (SCHEDULES_BY_SYSTEM["sparkify"], dt.datetime(2018, 11, 6, 2, tzinfo=dt.UTC), "2018-11-05"),
        (SCHEDULES_BY_SYSTEM["sparkify"], dt.datetime(2018, 12, 1, 2, tzinfo=dt.UTC), "2018-11-30"),
        (SCHEDULES_BY_SYSTEM["chinook"], dt.datetime(2021, 3, 1, 2, tzinfo=dt.UTC), "2021-02-28"),
    ],
)
def test_a_tick_materializes_the_previous_day(schedule, tick, expected):
    from music_dwh.definitions import defs

    context = build_schedule_context(
        scheduled_execution_time=tick, repository_def=defs.get_repository_def()
    )
    data = schedule.evaluate_tick(context)
    (request,) = data.run_requests
    assert request.partition_key == expected
    assert schedule.job_name == schedule.name.replace("_daily_schedule", "_job")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "UTC"  # the default MUSIC_DWH_TIMEZONE


def test_the_timezone_comes_from_the_settings():
    code = (
        "import json, datetime as dt, warnings; warnings.filterwarnings('ignore')\n"
        "from dagster import build_schedule_context\n"
        "from music_dwh.automation.schedules import schedules\n"
        # 23:30 UTC on Nov 5 is 00:30 on Nov 6 in Paris: Nov 5 is over there, not yet in UTC.
        "tick = dt.datetime(2018, 11, 5, 23, 30, tzinfo=dt.UTC)\n"
        "req = schedules[0].evaluate_tick(build_schedule_context(scheduled_execution_time=tick)).run_requests[0]\n"
        "print(json.dumps({'tz': [s.execution_timezone for s in schedules], 'partition': req.partition_key}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "MUSIC_DWH_TIMEZONE": "Europe/Paris",
        "DO_NOT_TRACK": "1",
        "HOME": str(REPO_ROOT),
    }
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["tz"] == ["Europe/Paris", "Europe/Paris"]
    assert result["partition"] == "2018-11-05"
