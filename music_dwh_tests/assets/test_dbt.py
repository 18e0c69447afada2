"""The dbt models of a system are one step (``<system>_dbt``): one in-process ``dbt build`` per
run, in dependency order, whatever subset is selected; one unpartitioned model materializes
alone; a run without a partition leaves the daily models out and says so; a failing dbt test
fails the step, names the test and stops everything downstream."""

from __future__ import annotations

import subprocess

import duckdb
import pytest

from music_dwh_tests.conftest import BIN, REPO_ROOT, Workspace, query

pytestmark = pytest.mark.e2e

DBT_STEP = "sparkify_dbt"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("dbt_assets")
    ws = Workspace(
        root=root,
        raw=root / "raw",
        warehouse=root / "warehouse.duckdb",
        dagster_home=root / "dagster",
    )
    ws.raw.mkdir()
    ws.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "2",
        "--events-per-day",
        "200",
        "--songs",
        "40",
        "--out",
        str(ws.raw),
    )
    proc = ws.run("music-dwh", "load", "sparkify")
    assert "succeeded" in proc.stdout, proc.stdout[-3000:]
    return ws


def _instance(ws: Workspace):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(ws.dagster_home))


def _latest_run_logs(ws: Workspace):
    """(run, [event log entries]) of the newest run of the workspace's instance."""
    instance = _instance(ws)
    try:
        run = instance.get_runs(limit=1)[0]
        return run, list(instance.all_logs(run.run_id))
    finally:
        instance.dispose()


def _materialized(entries) -> list[str]:
    return [
        e.dagster_event.asset_key.to_user_string()
        for e in entries
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
    ]


def test_a_load_runs_one_dbt_build_for_dimensions_daily_facts_and_marts(loaded):
    run, entries = _latest_run_logs(loaded)
    dbt_steps = {e.step_key for e in entries if e.step_key and "dbt" in e.step_key}
    assert dbt_steps == {DBT_STEP}
    messages = [e.user_message for e in entries if e.step_key == DBT_STEP]
    assert sum(m.startswith("Running dbt command: `dbt build") for m in messages) == 1
    assert sum(m.startswith("Finished dbt command") for m in messages) == 1
    # The project is parsed (or its cached parse loaded) at most once per process: the run
    # before the build, if anything, never again for the build.
    prepared = ("Parsed the dbt project in-process", "Loaded the dbt project's parsed manifest")
    assert sum(m.startswith(prepared) for m in messages) <= 1

    order = _materialized(e for e in entries if e.step_key == DBT_STEP)
    first = {key: order.index(key) for key in reversed(order)}
    # Dependency order inside the one build: dimensions → daily facts → daily marts → marts.
    assert first["sparkify/song_match_keys"] < first["sparkify/songplays"] < first["sparkify/time"]
    assert first["sparkify/songs"] < first["sparkify/song_plays_daily"]
    assert (
        first["sparkify/songplays"]
        < first["sparkify/song_plays_daily"]
        < first["sparkify/song_play_rankings"]
    )
    # The seed of US states' time zones is loaded by the same build, before the marts reading it.
    assert first["sparkify/us_state_time_zones"] < first["sparkify/usage_by_hour"]
    assert first["sparkify/us_state_time_zones"] < first["sparkify/user_demographics"]
    assert len(first) == 20  # every Sparkify model and seed
    # Daily models: one materialization per day of the run; whole-table models: one.
    assert order.count("sparkify/songplays") == 2 and order.count("sparkify/users") == 1

    instance = _instance(loaded)
    try:
        from dagster import AssetKey

        record = instance.get_latest_materialization_event(AssetKey(["sparkify", "songplays"]))
    finally:
        instance.dispose()
    metadata = record.asset_materialization.metadata
    # dagster-dbt's metadata and the table metadata added after dbt, as before.
    assert {
        "unique_id",
        "invocation_id",
        "Execution Duration",
        "status",
        "dagster/row_count",
        "dagster/partition_row_count",
        "dagster/column_schema",
        "preview",
        "song_match_rate",
    } <= set(metadata)
    assert metadata["unique_id"].value == "model.music_dwh.songplays"
    assert record.asset_materialization.partition in ("2018-11-01", "2018-11-02")


def test_one_unpartitioned_model_materializes_alone(loaded):
    before = query(loaded.warehouse, "select count(*) from sparkify.users")[0][0]
    proc = loaded.run(
        "dagster",
        "asset",
        "materialize",
        "-m",
        "music_dwh.definitions",
        "--select",
        "sparkify/users",
    )
    assert proc.returncode == 0
    run, entries = _latest_run_logs(loaded)
    assert run.status.value == "SUCCESS"
    assert _materialized(entries) == ["sparkify/users"]
    commands = [e.user_message for e in entries if e.user_message.startswith("Running dbt command")]
    # Exactly the model and its own tests: no test attached to another model runs.
    assert len(commands) == 1 and commands[0].endswith("--indirect-selection empty`."), commands
    selected = commands[0].split("--select ", 1)[1].split(" --indirect-selection")[0].split()
    assert selected[0] == "music_dwh.sparkify.users"
    assert selected[1:] and all(
        name.startswith("music_dwh.sparkify.") and "users" in name for name in selected[1:]
    )
    checks = [
        e.dagster_event.event_specific_data.check_name
        for e in entries
        if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    assert "unique_users_user_id" in checks
    assert query(loaded.warehouse, "select count(*) from sparkify.users")[0][0] == before


def test_a_run_without_a_partition_builds_the_whole_table_models_and_names_the_daily_ones_left_out(
    loaded,
):
    # Dagster itself asks for a partition when a daily model is selected (the UI too) …
    refused = loaded.run(
        "dagster",
        "asset",
        "materialize",
        "-m",
        "music_dwh.definitions",
        "--select",
        "sparkify/songplays,sparkify/users",
        check=False,
    )
    assert refused.returncode != 0 and "no '--partition' option" in refused.stderr
    # … and, through the Python API on an instance with history, fails such a run before the
    # step starts ("Cannot access partition_key for a non-partitioned run"). Where it lets one
    # through (a new instance), the step builds the whole-table models and names the daily
    # models it left out.
    script = (
        "from dagster import AssetKey, DagsterInstance\n"
        "from music_dwh.definitions import defs\n"
        "keys = {AssetKey(['sparkify', k]) for k in ('users', 'songplays', 'song_play_rankings')}\n"
        "job = defs.resolve_implicit_global_asset_job_def().get_subset(asset_selection=keys)\n"
        "with DagsterInstance.ephemeral() as instance:\n"
        "    result = job.execute_in_process(instance=instance, raise_on_error=False)\n"
        "    print('SUCCESS' if result.success else 'FAILED')\n"
        "    for e in instance.all_logs(result.run_id):\n"
        "        if e.dagster_event and e.dagster_event.event_type_value == 'ASSET_MATERIALIZATION':\n"
        "            print('BUILT', e.dagster_event.asset_key.to_user_string())\n"
        "        elif 'has no partition' in e.user_message:\n"
        "            print('WARNED', e.user_message)\n"
    )
    proc = subprocess.run(
        [str(BIN / "python"), "-c", script],
        cwd=REPO_ROOT,
        env=loaded.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = proc.stdout.splitlines()
    assert "SUCCESS" in lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert sorted(line for line in lines if line.startswith("BUILT")) == [
        "BUILT sparkify/song_play_rankings",
        "BUILT sparkify/users",
    ]
    warned = [line for line in lines if line.startswith("WARNED")]
    assert len(warned) == 1 and "sparkify/songplays" in warned[0] and "users" not in warned[0]


def test_a_failing_dbt_test_fails_the_step_names_the_test_and_stops_everything_downstream(loaded):
    ws = loaded
    con = duckdb.connect(str(ws.warehouse))
    try:  # a song twice in staging (the staging asset would have quarantined it)
        con.execute(
            "insert into sparkify.staging_songs select * from sparkify.staging_songs limit 1"
        )
    finally:
        con.close()
    try:
        proc = ws.run(
            "dagster",
            "asset",
            "materialize",
            "-m",
            "music_dwh.definitions",
            "--select",
            "sparkify/songs*",
            "--partition",
            "2018-11-01",
            check=False,
        )
        assert proc.returncode != 0
        run, entries = _latest_run_logs(ws)
        assert run.status.value == "FAILURE"
        failures = [
            e.dagster_event.step_failure_data.error.message
            for e in entries
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_FAILURE"
        ]
        assert len(failures) == 1 and "dbt build failed" in failures[0]
        assert "test.music_dwh.unique_songs_song_id" in failures[0]
        built = _materialized(entries)
        assert built == ["sparkify/songs"]  # dbt built it, then its test failed …
        # … so nothing downstream ran: not in dbt (song_plays_daily, the rankings, trending
        # artists) nor after it (the report's step never started).
        started = {
            e.step_key
            for e in entries
            if e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
        }
        assert started == {DBT_STEP}
        checks = {
            e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data.passed
            for e in entries
            if e.dagster_event and e.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
        }
        assert checks["unique_songs_song_id"] is False
    finally:
        con = duckdb.connect(str(ws.warehouse))
        try:
            con.execute(
                "create or replace table sparkify.staging_songs as "
                "select distinct * from sparkify.staging_songs"
            )
        finally:
            con.close()
