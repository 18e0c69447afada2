"""``music-dwh`` end to end: generated raw files → one Dagster run → star schema in DuckDB.

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

    summary = ws.run("music-dwh", "summary").stdout
    assert "Top 5 songs" in summary and "Busiest hours (UTC)" in summary
    assert re.search(rf"\bsongplays\s+{counts['songplays']:,}\b", summary), summary


def test_load_with_no_raw_files_says_what_to_do(workspace):
    proc = workspace.run("music-dwh", "load", "sparkify", check=False)
    assert proc.returncode == 2
    assert "no sparkify files in the raw store" in proc.stderr
    assert "music-dwh generate sparkify" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_load_before_the_first_partition_names_the_setting(small_sparkify):
    proc = small_sparkify.run(
        "music-dwh", "load", "sparkify", "--start", "2018-10-01", "--end", "2018-10-02", check=False
    )
    assert proc.returncode == 2
    assert "MUSIC_DWH_SPARKIFY_START=2018-10-01" in proc.stderr


def _dagster_processes_of(dagster_home) -> list[int]:
    import psutil

    found = []
    for proc in psutil.process_iter():
        try:
            if (
                proc.environ().get("DAGSTER_HOME") == str(dagster_home)
                and proc.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


def test_make_dev_stops_within_seconds_on_ctrl_c(workspace):
    """The terminal's Ctrl-C (SIGINT to the foreground process group: make and music-dwh)
    stops the UI, the daemon and the code server; `dagster dev` alone takes ~20 s."""
    import os
    import signal
    import subprocess
    import time
    import urllib.request

    from music_dwh_tests.conftest import REPO_ROOT, free_port

    port = free_port()
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "dev", f"PORT={port}"],
        cwd=REPO_ROOT,
        env=workspace.env,
        start_new_session=True,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the UI never answered"
            time.sleep(1)
        assert _dagster_processes_of(workspace.dagster_home)  # webserver, daemon, code server
        sent = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        output = proc.communicate(timeout=60)[0]
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert took < 10, f"make dev took {took:.1f} s to stop:\n{output[-3000:]}"
    assert "dev stopped by Ctrl-C" in output
    time.sleep(0.5)
    assert _dagster_processes_of(workspace.dagster_home) == []


def test_dev_links_alerts_to_the_ui_it_serves_unless_told_otherwise():
    from music_dwh.cli import build_parser, dev_environment

    args = build_parser().parse_args(["dev", "--port", "3001"])
    env = dev_environment(args.host, args.port, {"PATH": "/usr/bin", "MUSIC_DWH_UI_URL": " "})
    assert env == {"PATH": "/usr/bin", "MUSIC_DWH_UI_URL": "http://127.0.0.1:3001"}
    assert dev_environment("::1", 3002, {})["MUSIC_DWH_UI_URL"] == "http://[::1]:3002"
    explicit = {"MUSIC_DWH_UI_URL": "https://dagster.example.org"}
    assert dev_environment("127.0.0.1", 3001, explicit) == explicit


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
