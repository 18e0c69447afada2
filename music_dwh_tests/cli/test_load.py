"""``music-dwh load`` and ``summary`` end to end (music_dwh/cli/load.py): generated raw files →
one Dagster run → star schema in DuckDB.

These run the real console scripts in subprocesses (fresh imports, real Dagster instance at a
temporary DAGSTER_HOME, real dbt), so they are the slow tests; keep them few and small.
"""

from __future__ import annotations

import csv
import re

import pytest

from music_dwh_tests.conftest import query, snapshot

pytestmark = pytest.mark.e2e


@pytest.fixture
def small_sparkify(workspace):
    workspace.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "3",
        "--events-per-day",
        "400",
        "--songs",
        "80",
        "--out",
        str(workspace.raw),
    )
    return workspace


def _truth(workspace) -> dict[tuple, str | None]:
    truth = {}
    for path in sorted((workspace.raw / "_truth" / "sparkify" / "plays").glob("*.csv")):
        with path.open() as fh:
            for row in csv.DictReader(fh):
                key = (int(row["user_id"]), int(row["session_id"]), int(row["ts"]))
                truth[key] = row["song_id"] or None
    return truth


def test_load_builds_the_star_schema_and_matches_songs(small_sparkify):
    ws = small_sparkify
    proc = ws.run("music-dwh", "load", "sparkify")
    assert "Loading sparkify: 3 day(s) 2018-11-01 … 2018-11-03" in proc.stdout
    assert "succeeded" in proc.stdout
    assert re.search(
        r"✓ sparkify__staging_events \([\d.]+ s, 3 day\(s\) staged", proc.stdout
    )  # progress

    staged_plays, staged_users = query(
        ws.warehouse,
        "select count(*) filter (where page = 'NextSong'), count(distinct userid) from sparkify.staging_events",
    )[0]
    counts = dict(
        query(
            ws.warehouse,
            """
        select 'songplays', count(*) from sparkify.songplays union all
        select 'users', count(*) from sparkify.users union all
        select 'time', count(*) from sparkify."time" union all
        select 'distinct_start', count(distinct start_time) from sparkify.songplays""",
        )
    )
    assert counts["songplays"] == staged_plays > 0
    assert counts["users"] == staged_users
    assert counts["time"] == counts["distinct_start"]

    # Matching against the generator's truth: normalized names find the variants, durations
    # pick the right version.
    truth = _truth(ws)
    plays = query(
        ws.warehouse,
        "select user_id, session_id, epoch_ms(start_time), song_id from sparkify.songplays",
    )
    assert len(plays) == len(truth)
    matched = [(truth[(u, s, t)], song) for u, s, t, song in plays if song is not None]
    catalogue_plays = sum(1 for song in truth.values() if song)
    correct = sum(1 for true_song, song in matched if true_song == song)
    precision, recall = correct / len(matched), correct / catalogue_plays
    assert precision >= 0.99, precision
    assert recall >= 0.97, recall
    # Every double-encoded name in the logs was repaired on the way in.
    assert (
        query(
            ws.warehouse,
            "select count(*) from sparkify.staging_events "
            "where artist like '%Ã%' or song like '%Ã%'",
        )[0][0]
        == 0
    )

    # The plain Dagster CLI re-materializes one day; every table is unchanged but load times.
    before = snapshot(ws.warehouse, "sparkify")
    ws.run(
        "dagster",
        "asset",
        "materialize",
        "-m",
        "music_dwh.definitions",
        "--select",
        "group:sparkify",
        "--partition",
        "2018-11-02",
    )
    after = snapshot(ws.warehouse, "sparkify")
    assert after == before

    # The load's run shows under the system's job; every run is tagged with the warehouse it
    # wrote (the plain Dagster CLI's run too).
    from dagster import DagsterInstance

    with DagsterInstance.get() as instance:
        runs = instance.get_runs()  # newest first
    assert [r.job_name for r in runs] == ["__ASSET_JOB", "sparkify_job"]
    assert [r.tags.get("music_dwh/warehouse") for r in runs] == [f"duckdb:///{ws.warehouse}"] * 2

    summary = ws.run("music-dwh", "summary").stdout
    assert "Busiest hours (UTC)" in summary
    # Top songs count every play, matched to the catalogue or not (starred).
    lines = summary.splitlines()
    top = lines.index("Top 5 songs (every play; * = not in the song catalogue)")
    assert lines[top + 1].split() == ["plays", "song", "—", "artist"]
    most, title_artist = lines[top + 2].split(maxsplit=1)
    song_plays = query(
        ws.warehouse,
        "select song_title || ' — ' || artist_name || case when song_id is null then ' *' "
        "else '' end, sum(plays) from sparkify.song_plays_daily "
        "group by song_key, song_title, artist_name, song_id order by 2 desc, 1 limit 1",
    )[0]
    assert (title_artist, int(most.replace(",", ""))) == song_plays
    assert re.search(rf"\bsongplays\s+{counts['songplays']:,}\b", summary), summary


def test_load_with_no_raw_files_says_what_to_do(workspace):
    proc = workspace.run("music-dwh", "load", "sparkify", check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(
        f"music-dwh: no sparkify days in the raw store: {workspace.raw} is empty"
    )
    assert "music-dwh generate sparkify" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_definitions_and_load_never_import_the_bench_or_the_generators(workspace):
    """What Dagster's code server and `music-dwh load`'s worker import (the definitions), and a
    `music-dwh load` in this process (parser, plan, its refusal of an empty store), leave the
    benchmark (bench/) and the data generators (music_dwh.datagen) unimported."""
    script = (
        "import sys\n"
        "import music_dwh.definitions\n"
        "from music_dwh.cli.main import main\n"
        "status = main(['load', 'sparkify'])\n"
        "tools = [m for m in sys.modules if m.split('.')[0] == 'bench' or m.startswith('music_dwh.datagen')]\n"
        "print(status, sorted(tools))\n"
    )
    proc = workspace.run("python", "-c", script, cwd=workspace.root)
    assert proc.stdout.splitlines()[-1] == "2 []"


def test_load_before_the_first_partition_names_the_setting(small_sparkify):
    proc = small_sparkify.run(
        "music-dwh", "load", "sparkify", "--start", "2018-10-01", "--end", "2018-10-02", check=False
    )
    assert proc.returncode == 2
    assert "MUSIC_DWH_SPARKIFY_START=2018-10-01" in proc.stderr


def test_load_through_a_layer_stops_there_and_runs_its_checks(small_sparkify):
    ws = small_sparkify
    proc = ws.run("music-dwh", "load", "sparkify", "--through", "staging")
    assert "through the staging layer" in proc.stdout and "succeeded" in proc.stdout
    assert "✓ sparkify__staging_events" in proc.stdout  # the compact progress, a line per step
    assert "STEP_START" not in proc.stdout and "Running with dbt" not in proc.stdout
    tables = set(snapshot(ws.warehouse, "sparkify"))
    assert {"staging_events", "staging_songs"} <= tables and "songplays" not in tables
    passed = int(re.search(r"checks (\d+) passed, 0 failed", proc.stdout).group(1))
    assert passed > 0  # the staging checks ran

    star = ws.run("music-dwh", "load", "sparkify", "--through", "star")
    tables = set(snapshot(ws.warehouse, "sparkify"))
    assert {"songplays", "users", "songs", "artists", "time"} <= tables
    assert "song_plays_daily" not in tables and "sparkify_report" not in star.stdout
    more = int(re.search(r"checks (\d+) passed, 0 failed", star.stdout).group(1))
    assert more > passed  # the star schema's dbt tests too

    verbose = ws.run("music-dwh", "load", "sparkify", "--through", "staging", "-v")
    logs = verbose.stdout + verbose.stderr
    assert "dagster - INFO" in logs and "✓ sparkify__staging_events" not in logs  # the full logs
