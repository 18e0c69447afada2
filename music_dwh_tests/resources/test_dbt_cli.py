"""dbt in the run's process (music_dwh/resources/dbt_cli.py): the dagster-dbt and dbt-core
internals it relies on have the signatures used; the partition window is read at run time
only; dbt's DuckDB connections are closed after every invocation and the next one reads fresh
data; the Dagster events equal those of dagster-dbt's subprocess path; secrets stay out."""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

import duckdb
import pytest

from music_dwh.dbt_project import SQL_DIR, dbt_project
from music_dwh.resources import dbt_cli, dbt_manifest, dbt_process

# Events dbt fires only while parsing: none of them may appear when a parsed manifest is used.
PARSE_EVENTS = {
    "StateCheckVarsHash",
    "PartialParsingEnabled",
    "UnableToPartialParse",
    "ParsePerfInfoPath",
    "PartialParsingError",
    "ParsedFileLoadFailed",
}


# ---------------------------------------------------------------------------- pinned internals
def test_the_internals_used_have_the_signatures_used():
    from dagster_dbt import DagsterDbtTranslator
    from dagster_dbt.asset_utils import (
        DAGSTER_DBT_EXCLUDE_METADATA_KEY,
        DAGSTER_DBT_SELECT_METADATA_KEY,
        DAGSTER_DBT_SELECTOR_METADATA_KEY,
        get_dbt_resource_names_for_asset_keys,
        get_dbt_test_names_for_check_keys,
        get_manifest_and_translator_from_dbt_assets,
        get_subset_selection_for_context,
    )
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.adapters.factory import reset_adapters  # noqa: F401
    from dbt.cli.main import dbtRunner
    from dbt_common.context import set_invocation_context  # noqa: F401
    from dbt_common.events.event_manager_client import cleanup_event_logger  # noqa: F401
    from dbt_common.events.functions import msg_to_dict  # noqa: F401

    def params(fn) -> set[str]:
        return set(inspect.signature(fn).parameters)

    assert {
        "context",
        "manifest",
        "select",
        "exclude",
        "selector",
        "dagster_dbt_translator",
        "current_dbt_indirect_selection_env",
    } <= params(get_subset_selection_for_context)
    assert {"translator", "manifest", "assets_def", "asset_keys"} <= params(
        get_dbt_resource_names_for_asset_keys
    )
    assert {"translator", "manifest", "assets_def", "check_keys"} <= params(
        get_dbt_test_names_for_check_keys
    )
    # What dagster-dbt compares to tell a subset (dbt_cli.dbt_selection does the same).
    from music_dwh.definitions import defs

    assets_def = next(
        a for a in defs.resolve_asset_graph().assets_defs if a.node_def.name == "sparkify_dbt"
    )
    for name in (
        "keys_by_output_name",
        "node_keys_by_output_name",
        "check_specs_by_output_name",
        "node_check_specs_by_output_name",
    ):
        assert isinstance(getattr(assets_def, name), Mapping), name
    assert params(get_manifest_and_translator_from_dbt_assets) == {"dbt_assets"}
    assert (
        DAGSTER_DBT_SELECT_METADATA_KEY,
        DAGSTER_DBT_EXCLUDE_METADATA_KEY,
        DAGSTER_DBT_SELECTOR_METADATA_KEY,
    ) == ("dagster_dbt/select", "dagster_dbt/exclude", "dagster_dbt/selector")
    assert {"raw_event", "event_history_metadata"} <= params(DbtCoreCliEventMessage)
    assert {"manifest", "dagster_dbt_translator", "context", "target_path", "project"} <= params(
        DbtCoreCliEventMessage.to_default_asset_events
    )
    assert "get_partitions_def" in vars(DagsterDbtTranslator)
    assert {"manifest", "callbacks"} <= params(dbtRunner)
    assert hasattr(DuckDBConnectionManager, "_ENV") and hasattr(DuckDBConnectionManager, "_LOCK")


# ---------------------------------------------------------------------------- a tiny warehouse
SONGS = [  # song_id, title, artist_id, year, duration, artist_name, location, latitude, longitude
    ("S1", "First", "A1", 2001, 200.0, "Artist One", "Here", 1.0, 2.0),
    ("S2", "Second", "A2", 0, 180.5, "Artist Two", "", None, None),
]


def _add_songs(path: Path, rows) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists sparkify")
        con.execute("""create table if not exists sparkify.staging_songs (
            song_id varchar, title varchar, artist_id varchar, year integer, duration double,
            artist_name varchar, artist_location varchar, artist_latitude double, artist_longitude double)""")
        con.executemany(
            "insert into sparkify.staging_songs values (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
    finally:
        con.close()


def songs_warehouse(folder: Path) -> tuple[Path, dict[str, str]]:
    """A DuckDB file holding SONGS as staged songs, and the dbt environment pointing at it."""
    path = folder / "wh.duckdb"
    _add_songs(path, SONGS)
    env = {
        "MUSIC_DWH_DBT_TARGET": "duckdb",
        "MUSIC_DWH_DUCKDB_PATH": str(path),
        "MUSIC_DWH_DUCKDB_MEMORY_LIMIT": "256MB",
    }
    return path, env


@pytest.fixture
def warehouse(tmp_path):
    return songs_warehouse(tmp_path)


def _manifest(env):
    return dbt_manifest.parsed_manifest(env)


# Only the selected models' own tests: the project's other tests need tables this warehouse lacks.
SONGS_BUILD = ["build", "--select", "songs artists", "--indirect-selection", "cautious"]


def _count_in_another_process(path: Path, sql: str) -> int:
    """Read-write open from another process: fails while this process still holds the file."""
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "print(con.execute(sys.argv[2]).fetchone()[0])\n"
        "con.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), sql], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return int(out.stdout.strip())


# ---------------------------------------------------------------------------- DuckDB: closed, fresh
def test_each_invocation_releases_the_file_and_the_next_reads_fresh_data(warehouse, tmp_path):
    path, env = warehouse
    manifest = _manifest(env)

    first = dbt_cli.invoke(SONGS_BUILD, env=env, target_path=tmp_path / "t1", manifest=manifest)
    assert first.success, first.errors
    # dbt-duckdb keeps its database open after a call unless told otherwise: released here.
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    assert DuckDBConnectionManager._ENV is None
    # Another process can open the file read-write at once (DuckDB: one writing process) …
    assert _count_in_another_process(path, "select count(*) from sparkify.songs") == 2
    # … and writes a new song there; then this process writes one too, through its own connection
    # (as the staging assets do), before dbt runs again.
    code = (
        "import duckdb, sys\ncon = duckdb.connect(sys.argv[1])\n"
        "con.execute(\"insert into sparkify.staging_songs values ('S3', 'Third', 'A1', 1999, 100.0, "
        "'Artist One', 'Here', 1.0, 2.0)\")\ncon.close()\n"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True, timeout=60)
    _add_songs(path, [("S4", "Fourth", "A3", 2010, 90.0, "Artist Three", "There", None, None)])

    second = dbt_cli.invoke(SONGS_BUILD, env=env, target_path=tmp_path / "t2", manifest=manifest)
    assert second.success, second.errors
    # Fresh reads everywhere: dbt saw both new rows, and a new connection in this process and
    # another process both see dbt's new tables (dbt-core #12615: stale reads after repeated
    # invocations on DuckDB).
    con = duckdb.connect(str(path))
    try:
        assert con.execute("select count(*) from sparkify.songs").fetchone()[0] == 4
        assert con.execute("select count(*) from sparkify.artists").fetchone()[0] == 3
    finally:
        con.close()
    assert _count_in_another_process(path, "select count(*) from sparkify.songs") == 4
    # Both used the one parsed manifest: no parse in either invocation.
    assert not (PARSE_EVENTS & (set(first.event_names) | set(second.event_names)))
    assert dbt_manifest.parsed_manifest(env) is manifest
    # dbt's own artifact, written where the benchmark reads it.
    assert json.loads((tmp_path / "t2" / "run_results.json").read_text())["elapsed_time"] > 0


def test_a_failing_test_is_reported_by_name_and_the_file_is_still_released(warehouse, tmp_path):
    path, env = warehouse
    _add_songs(path, [SONGS[0]])  # song S1 twice: unique_songs_song_id fails
    failed = dbt_cli.invoke(
        SONGS_BUILD, env=env, target_path=tmp_path / "t", manifest=_manifest(env)
    )
    assert not failed.success
    assert any(f.startswith("test.music_dwh.unique_songs_song_id") for f in failed.failures()), (
        failed.failures()
    )
    assert _count_in_another_process(path, "select count(*) from sparkify.staging_songs") == 3


# ---------------------------------------------------------------------------- the window
def test_the_window_is_read_at_run_time_only_and_a_new_window_needs_no_parse(warehouse, tmp_path):
    """Parsed with a sentinel window in the environment, the manifest holds it nowhere (no
    config(), hook or YAML renders it at parse time); compiled on that one manifest, each new
    window shows in the SQL of the daily model and of the reconciliation test, without a parse."""
    from dbt.cli.main import dbtRunner

    _, env = warehouse
    sentinel = {"MUSIC_DWH_WINDOW_START": "1777-07-07", "MUSIC_DWH_WINDOW_END": "1888-08-08"}
    saved = {k: os.environ.get(k) for k in {**env, **sentinel}}
    os.environ.update({**env, **sentinel})
    try:
        with tempfile.TemporaryDirectory() as scratch:
            parsed = dbtRunner().invoke(
                [
                    "parse",
                    "--project-dir",
                    str(SQL_DIR),
                    "--profiles-dir",
                    str(SQL_DIR),
                    "--target-path",
                    scratch,
                    "--log-path",
                    scratch,
                    "--log-level",
                    "none",
                    "--no-write-json",
                ]
            )
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
        dbt_process.release_dbt_connections()
    assert parsed.success
    manifest = parsed.result
    written = json.dumps(manifest.writable_manifest().to_dict())
    assert "1777-07-07" not in written and "1888-08-08" not in written
    hooks = manifest.nodes["model.music_dwh.songplays"].config.pre_hook
    assert [h.sql for h in hooks] == [
        "{{ delete_partition_window('start_time') }}"
    ]  # rendered per run

    compiled = {}
    for start, end in (("2018-11-05", "2018-11-07"), ("2019-02-01", "2019-02-02")):
        window = {"MUSIC_DWH_WINDOW_START": start, "MUSIC_DWH_WINDOW_END": end}
        invocation = dbt_cli.invoke(
            [
                "compile",
                "--select",
                "songplays songplays_reconcile_with_staged_events",
                "--indirect-selection",
                "empty",
            ],
            env={**env, **window},
            target_path=tmp_path / start,
            manifest=manifest,
        )
        assert invocation.success, invocation.errors
        assert not (PARSE_EVENTS & set(invocation.event_names))
        compiled[start] = {r.node.name: r.node.compiled_code for r in invocation.result.results}
        assert set(compiled[start]) == {"songplays", "songplays_reconcile_with_staged_events"}
        for name, sql in compiled[start].items():
            assert f"'{start}'" in sql and f"'{end}'" in sql and "1777" not in sql, (name, sql)
    assert compiled["2018-11-05"]["songplays"] != compiled["2019-02-01"]["songplays"]


# ---------------------------------------------------------------------------- same events as the CLI
def test_the_dagster_events_equal_those_of_dagster_dbts_subprocess_path(
    warehouse, tmp_path, monkeypatch
):
    from dagster_dbt import DbtCliResource
    from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

    from music_dwh.assets.dbt import translator

    path, env = warehouse
    manifest_json = json.loads(dbt_project.manifest_path.read_text())

    def summary(raw_events) -> list[tuple]:
        out = []
        for raw in raw_events:
            message = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            for event in message.to_default_asset_events(
                manifest=manifest_json, dagster_dbt_translator=translator
            ):
                meta = event.metadata
                out.append(
                    (
                        type(event).__name__,
                        event.asset_key.to_user_string(),
                        getattr(event, "check_name", None),
                        getattr(event, "passed", None),
                        str(getattr(event, "severity", None)),
                        tuple(sorted(meta)),
                        meta["unique_id"].value
                        if hasattr(meta["unique_id"], "value")
                        else meta["unique_id"],
                        meta["status"].value
                        if hasattr(meta["status"], "value")
                        else meta["status"],
                    )
                )
        return sorted(out)

    in_process = dbt_cli.invoke(
        SONGS_BUILD, env=env, target_path=tmp_path / "inproc", manifest=_manifest(env)
    )
    assert in_process.success, in_process.errors

    for key, value in {**env, **dbt_cli.QUIET_ENV}.items():
        monkeypatch.setenv(key, value)
    from music_dwh.dbt_project import DBT_EXECUTABLE

    cli = DbtCliResource(
        project_dir=str(SQL_DIR), profiles_dir=str(SQL_DIR), dbt_executable=DBT_EXECUTABLE
    )
    invocation = cli.cli(
        SONGS_BUILD,
        manifest=dbt_project.manifest_path,
        dagster_dbt_translator=translator,
        target_path=tmp_path / "cli",
        raise_on_error=False,
    )
    cli_events = [e.raw_event for e in invocation.stream_raw_events() if e.is_result_event]
    assert invocation.is_successful()

    ours, theirs = summary(in_process.events), summary(cli_events)
    assert ours == theirs
    assert {kind for kind, *_ in ours} == {"AssetMaterialization", "AssetCheckEvaluation"}
    assert len(ours) == 2 + 8  # songs, artists and their eight tests
    # The raw dicts have the CLI's structure, field for field, where dagster-dbt reads them.
    for ours_raw, theirs_raw in zip(
        sorted(in_process.events, key=lambda e: e["data"]["node_info"]["unique_id"]),
        sorted(cli_events, key=lambda e: e["data"]["node_info"]["unique_id"]),
        strict=True,
    ):
        assert set(ours_raw["info"]) == set(theirs_raw["info"])
        assert set(ours_raw["data"]) == set(theirs_raw["data"])
        assert set(ours_raw["data"]["node_info"]) == set(theirs_raw["data"]["node_info"])


# ---------------------------------------------------------------------------- secrets, quiet
def test_secrets_are_scrubbed_and_dropped_after_the_invocation(warehouse, tmp_path, capfd):
    from dbt_common.context import get_invocation_context

    _, env = warehouse
    secret = "n0t-a-real-pa55word-4711"
    env = {**env, "DBT_ENV_SECRET_WAREHOUSE_PASSWORD": secret}
    # A failing query whose error message quotes the secret back.
    invocation = dbt_cli.invoke(
        ["show", "--inline", f"select * from missing_{secret}"],
        env=env,
        target_path=tmp_path / "t",
        manifest=_manifest(env),
    )
    assert not invocation.success
    assert (
        invocation.errors
        and secret not in repr(invocation.errors)
        and "*****" in " ".join(invocation.errors)
    )
    assert "DBT_ENV_SECRET_WAREHOUSE_PASSWORD" not in os.environ
    assert secret not in repr(get_invocation_context().env)
    out, err = capfd.readouterr()
    assert secret not in out + err and out.strip() == ""  # dbt printed nothing at all
    log = SQL_DIR / "logs" / "dbt.log"
    # The file log is written (by this invocation: its query is there, masked), never the secret.
    text = log.read_text(errors="replace")
    assert "from missing_*****" in text and secret not in text
    assert dbt_cli._scrub({"a": [f"x{secret}y"]}, [secret]) == {"a": ["x*****y"]}
