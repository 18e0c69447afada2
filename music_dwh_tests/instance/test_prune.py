"""``music-dwh prune`` (music_dwh/instance/prune.py): runs older than the window go, what the UI
still reads from them stays, on the SQLite instance and on the PostgreSQL one.

The history is made by real runs of a small partitioned job (test_storage.py's) on the
instance class music_dwh ships; the older ones are then moved 40 days back in the run storage.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as db
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, DagsterInstance

from music_dwh.instance.prune import prune
from music_dwh_tests.conftest import REPO_ROOT, Workspace
from music_dwh_tests.instance.test_storage import (
    DAYS,
    DEFS,
    STORAGE_VARIABLES,
    run_range,
    shipped_home,
)

KEY = AssetKey("daily")
WEEK = [f"2024-01-0{d}" for d in range(1, 8)]


@pytest.fixture(params=["sqlite", "postgres"])
def instance(request, tmp_path, monkeypatch):
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    if request.param == "postgres":
        server = request.getfixturevalue("postgres_server")
        monkeypatch.setenv("MUSIC_DWH_DAGSTER_STORAGE", server.url(server.create_database()))
        monkeypatch.setenv("MUSIC_DWH_DAGSTER_STORAGE_PASSWORD", server.password)
    instance = DagsterInstance.from_config(str(shipped_home(tmp_path / "home")))
    try:
        yield instance
    finally:
        instance.dispose()


def history(instance: DagsterInstance) -> dict[str, str]:
    """Five runs: the first three days twice (the first run is then superseded), days 3–4,
    a failed day 5 (older than the window, all four), and a day 6 of today."""
    runs = {
        "superseded": run_range(instance, "2024-01-01", "2024-01-03"),
        "days 1-2": run_range(instance, "2024-01-01", "2024-01-03"),
        "days 3-4": run_range(instance, "2024-01-03", "2024-01-04"),
        "failed day 5": run_range(instance, "2024-01-05", "2024-01-05", fail=True),
        "today": run_range(instance, "2024-01-06", "2024-01-06"),
    }
    old = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=40)
    with instance.run_storage.connect() as conn:
        for name in list(runs)[:-1]:
            conn.execute(
                db.text(
                    "update runs set create_timestamp = :t, update_timestamp = :t, "
                    "start_time = :s, end_time = :s where run_id = :r"
                ),
                {"t": old, "s": old.timestamp(), "r": runs[name].run_id},
            )
    return {name: result.run_id for name, result in runs.items()}


def ui(instance: DagsterInstance) -> dict:
    """What the UI shows of the asset and its checks, read through the instance as it does."""
    storage = instance.event_log_storage
    checks = sorted(DEFS.resolve_asset_graph().asset_check_keys, key=lambda k: k.name)
    per_day = {}
    for day in WEEK:
        records = instance.fetch_materializations(
            AssetRecordsFilter(asset_key=KEY, asset_partitions=[day]), limit=1
        ).records
        per_day[day] = (records[0].storage_id, records[0].run_id) if records else None
    cached = instance.get_status_by_partition(KEY, WEEK, DAYS)
    instance.wipe_asset_cached_status([KEY])  # then rebuilt from the events that are left
    return {
        "latest materialization per day": per_day,
        "latest materialization": instance.fetch_materializations(KEY, limit=1)
        .records[0]
        .storage_id,
        "asset record": instance.get_asset_records([KEY])[
            0
        ].asset_entry.last_materialization_record.storage_id,
        "partition status (cached)": cached,
        "partition status (rebuilt)": instance.get_status_by_partition(KEY, WEEK, DAYS),
        "materialized": sorted(instance.get_materialized_partitions(KEY)),
        "latest check executions": {
            k.name: (r.id, r.status.value, r.run_id, r.event is not None)
            for k, r in storage.get_latest_asset_check_execution_by_key(checks).items()
        },
        "check status per day": sorted(
            storage.get_asset_check_partition_info(checks),
            key=lambda i: (i.check_key.name, i.partition_key or ""),
        ),
    }


def kinds(instance: DagsterInstance, run_id: str) -> list[tuple[str, str | None]]:
    """(event type, partition) of a run's asset events, as its run page lists them."""
    return sorted(
        (e.dagster_event_type.value, e.dagster_event.partition)
        for e in instance.all_logs(run_id)
        if e.dagster_event_type
        in (DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_MATERIALIZATION_PLANNED)
    )


def test_prune_removes_older_runs_and_keeps_what_the_ui_shows(instance):
    runs = history(instance)
    before = ui(instance)
    assert before["partition status (rebuilt)"]["2024-01-05"].value == "FAILED"
    logs = {name: len(instance.all_logs(run_id)) for name, run_id in runs.items()}
    say = []

    dry = prune(instance, keep_days=30, say=say.append, dry_run=True)
    assert {name: len(instance.all_logs(run_id)) for name, run_id in runs.items()} == logs
    assert ui(instance) == before

    pruned = prune(instance, keep_days=30, say=say.append)
    assert (
        (pruned.removed_runs, pruned.trimmed_runs) == (dry.removed_runs, dry.trimmed_runs) == (1, 3)
    )
    assert pruned.events == dry.events > 0 and pruned.event_bytes == dry.event_bytes > 0
    assert say[0].startswith("4 run(s) ended before ")
    assert ui(instance) == before
    left = {r.run_id for r in instance.get_runs()}
    assert left == set(runs.values()) - {runs["superseded"]}
    assert instance.get_run_by_id(runs["superseded"]) is None
    # Kept older runs list what they still hold: days 1–2 (day 3 is the next run's), the failed
    # attempt at day 5; today's run is untouched.
    mat, planned = "ASSET_MATERIALIZATION", "ASSET_MATERIALIZATION_PLANNED"
    assert kinds(instance, runs["days 1-2"]) == [(mat, "2024-01-01"), (mat, "2024-01-02")]
    assert kinds(instance, runs["days 3-4"]) == [(mat, "2024-01-03"), (mat, "2024-01-04")]
    assert kinds(instance, runs["failed day 5"]) == [(planned, "2024-01-05")]
    assert len(instance.all_logs(runs["today"])) == logs["today"]
    if instance.event_log_storage.is_run_sharded:
        shards = Path(instance.event_log_storage.path_for_shard("index")).parent
        assert not list(shards.glob(f"{runs['superseded']}.db*"))
        assert pruned.bytes_after < pruned.bytes_before and not pruned.busy

    again = prune(instance, keep_days=30, say=say.append)
    assert (again.removed_runs, again.trimmed_runs, again.events) == (0, 3, 0)
    assert ui(instance) == before
    # A window that takes every run: only what is still the latest stays.
    everything = prune(instance, keep_days=0, say=say.append)
    assert (everything.removed_runs, everything.trimmed_runs) == (0, 4)
    assert ui(instance) == before


def test_prune_on_the_command_line(workspace: Workspace):
    proc = workspace.run("music-dwh", "prune", "--dry-run")
    lines = proc.stdout.splitlines()
    assert lines[0] == f"Pruning the Dagster instance in {workspace.dagster_home} …"
    assert lines[1].startswith("0 run(s) ended before ") and "(older than 30 day(s))" in lines[1]
    assert lines[2] == "would remove 0 run(s) and 0 event(s) (0.0 MB of events)"
    help_text = workspace.run("music-dwh", "prune", "--help").stdout
    assert "MUSIC_DWH_RUN_RETENTION_DAYS, 30 unless set" in help_text


@pytest.mark.parametrize(
    "args, env, first_line",
    [
        # argparse prints the usage first, then this line
        (["--keep-days", "-1"], {}, None),
        (
            [],
            {"MUSIC_DWH_RUN_RETENTION_DAYS": "a month"},
            "music-dwh: MUSIC_DWH_RUN_RETENTION_DAYS='a month' is not a number of days; use a "
            "whole number such as 30 (0 keeps only what is still the latest)",
        ),
    ],
)
def test_a_mistake_is_one_line_and_exit_status_2(workspace: Workspace, args, env, first_line):
    import subprocess

    from music_dwh_tests.conftest import BIN

    proc = subprocess.run(
        [str(BIN / "music-dwh"), "prune", *args],
        cwd=REPO_ROOT,
        env={**workspace.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    if first_line is None:
        assert lines[0].startswith("usage: music-dwh prune ")
        assert lines[-1] == "music-dwh prune: error: argument --keep-days: '-1' must be 0 or more"
    else:
        assert lines == [first_line]
