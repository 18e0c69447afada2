"""``music-dwh`` end to end: generated raw files → one Dagster run → star schema in DuckDB.

These run the real console scripts in subprocesses (fresh imports, real Dagster instance at a
temporary DAGSTER_HOME, real dbt), so they are the slow tests; keep them few and small.
"""

from __future__ import annotations

import csv
import re
import uuid
from pathlib import Path

import pytest

from music_dwh import cli
from music_dwh.datagen import chinook, ownership, sparkify
from music_dwh.datagen.ownership import WHAT_TO_DO
from music_dwh.resources.raw_store import open_raw_store
from music_dwh_tests.conftest import query, require_shared, snapshot
from music_dwh_tests.datagen.foreign_data import (
    NOTES,
    WRITERS,
    fill_with_foreign_data,
    listing,
    writers_to_try,
)

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
        "from music_dwh import cli\n"
        "status = cli.main(['load', 'sparkify'])\n"
        "tools = [m for m in sys.modules if m.split('.')[0] == 'bench' or m.startswith('music_dwh.datagen')]\n"
        "print(status, sorted(tools))\n"
    )
    proc = workspace.run("python", "-c", script, cwd=workspace.root)
    assert proc.stdout.splitlines()[-1] == "2 []"


def test_bench_commands_say_in_one_line_when_the_bench_is_not_installed(workspace):
    script = (
        "import sys\n"
        "sys.modules['bench'] = None  # as if bench/ were not installed: its import fails\n"
        "from music_dwh import cli\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    for command in ("bench", "bench-latency"):
        proc = workspace.run(
            "python", "-c", script, command, "--help", cwd=workspace.root, check=False
        )
        assert (proc.returncode, proc.stderr) == (2, f"music-dwh: {cli.BENCH_MISSING}\n")


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


# ---------------------------------------------------------------------------- never delete what it did not write
# The rule itself (manifests, force, own output replaced) is tested in datagen/test_ownership.py;
# here: what a user sees, in a folder and in S3.
def _arguments(command: str) -> list[str]:
    if command == "export-chinook":
        return ["--sqlite", str(require_shared("chinook", "Chinook_Sqlite.sqlite"))]
    return {
        "generate sparkify": ["--days", "3", "--events-per-day", "60", "--songs", "20"],
        "generate chinook": ["--days", "4", "--customers", "5", "--invoices-per-day", "3"],
    }[command]


def _refusal(location: str, who: str, keys: list[str], what_to_do: str) -> str:
    return (
        f"music-dwh: {location} holds {len(keys):,} files that music-dwh {who} did not write "
        f"({keys[0]}, {keys[1]}, {keys[2]} and {len(keys) - 3:,} more); nothing was changed. "
        f"{what_to_do}"
    )


def _in(keys, scope: tuple[str, ...]) -> list[str]:
    """``keys`` in the order a refusal names them: by prefix of the scope, then by key."""
    return [k for prefix in scope for k in sorted(keys) if k.startswith(prefix)]


@pytest.fixture(params=["sample", "generated"])
def foreign(request, folder_or_s3_store, tmp_path):
    """A raw store (folder or S3) holding the public samples or data of another seed, copied in,
    and the user's notes."""
    fill_with_foreign_data(folder_or_s3_store, request.param, tmp_path / "elsewhere")
    return folder_or_s3_store


def test_generate_and_export_refuse_a_store_holding_files_they_did_not_write(foreign, capsys):
    before = listing(foreign)
    for command in writers_to_try():
        status = cli.main([*command.split(), *_arguments(command), "--out", foreign.location])
        first = capsys.readouterr().err.splitlines()[0]
        assert (status, first) == (
            2,
            _refusal(foreign.location, command, _in(before, WRITERS[command][0].scope), WHAT_TO_DO),
        )
    assert listing(foreign) == before


def test_with_force_generate_writes_its_files_beside_the_others(tmp_path, capsys):
    store = open_raw_store(str(tmp_path / "raw"))
    fill_with_foreign_data(store, "generated", tmp_path / "elsewhere")
    before = listing(store)
    args = ["generate", "sparkify", *_arguments("generate sparkify"), "--out", store.location]
    assert cli.main([*args, "--force"]) == 0
    after = listing(store)
    assert {k: after[k] for k in NOTES} == {k: before[k] for k in NOTES}
    assert "sparkify/log_data/2018/11/2018-11-03-events.json" in after
    assert cli.main(args) == 2  # the notes are still not its own
    assert "sparkify/NOTES.txt" in capsys.readouterr().err


def test_export_of_a_missing_database_is_one_line(tmp_path, capsys):
    missing = tmp_path / "nope.sqlite"
    assert cli.main(["export-chinook", "--sqlite", str(missing), "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines()[0] == (
        f"music-dwh: {missing}: no such file. Point the export at the Chinook SQLite database "
        "(Chinook_Sqlite.sqlite from https://github.com/lerocha/chinook-database)."
    )


DEMO = ["demo", "--days", "1", "--events-per-day", "100", "--songs", "200", "--customers", "10"]


def _ignores(data: Path, names: str) -> str:
    return f"The demo writes only under {data}; it ignores {names} from the environment"


def test_demo_refuses_files_it_did_not_write_in_data_raw(workspace, tmp_path):
    here = tmp_path / "here"
    raw = open_raw_store(str(here / "data" / "raw"))
    fill_with_foreign_data(raw, "generated", tmp_path / "elsewhere")
    before = listing(raw)
    proc = workspace.run("music-dwh", *DEMO, check=False, cwd=here)
    keys = _in(before, (*sparkify.WRITER.scope, *chinook.WRITER.scope))
    assert proc.returncode == 2
    assert proc.stdout.splitlines()[0] == _ignores(
        here / "data", "MUSIC_DWH_RAW, MUSIC_DWH_WAREHOUSE, MUSIC_DWH_REPORTS, DAGSTER_HOME"
    )
    assert proc.stderr.splitlines()[0] == _refusal(
        raw.location,
        "demo",
        keys,
        f"Move them out of {raw.location}, or add --force to write its files over any at the same "
        "keys (files it does not write are never removed)",
    )
    assert listing(raw) == before
    assert list(workspace.raw.iterdir()) == [] and not workspace.warehouse.exists()
    assert sorted(p.name for p in (here / "data").iterdir()) == ["raw"]


def test_demo_writes_only_under_data_whatever_the_environment_says(
    workspace, tmp_path, s3_server, monkeypatch
):
    """MUSIC_DWH_RAW names a bucket with a user's file, the other variables the workspace:
    the demo writes all of it under ./data, and clean-demo removes exactly that again."""
    import boto3

    aws = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": s3_server,
        "AWS_REGION": "us-east-1",
    }
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    bucket_name = f"production-raw-{uuid.uuid4().hex[:8]}"
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").create_bucket(
        Bucket=bucket_name
    )
    bucket = open_raw_store(f"s3://{bucket_name}/landing", s3_server, "us-east-1")
    bucket.write_bytes("sparkify/NOTES.txt", NOTES["sparkify/NOTES.txt"])
    in_bucket = listing(bucket)
    here = tmp_path / "here"
    here.mkdir()
    data = here / "data"

    proc = workspace.run(
        "music-dwh", *DEMO, cwd=here, env={**aws, "MUSIC_DWH_RAW": bucket.location}
    )
    lines = proc.stdout.splitlines()
    assert lines[:2] == [
        _ignores(data, "MUSIC_DWH_RAW, MUSIC_DWH_WAREHOUSE, MUSIC_DWH_REPORTS, DAGSTER_HOME"),
        f"[1/3] Generating sample data into {data / 'raw'}",
    ]
    raw = open_raw_store(str(data / "raw"))
    generated = 0
    for writer in (sparkify.WRITER, chinook.WRITER):
        found = ownership.survey(raw, writer)
        assert found.own and found.foreign == []
        generated += len(found.own)
    plays = query(data / "warehouse.duckdb", "select count(*) from sparkify.songplays")[0][0]
    invoices = query(data / "warehouse.duckdb", "select count(*) from chinook.fact_invoice")[0][0]
    assert plays > 0 and invoices > 0
    assert sorted(p.name for p in (data / "reports").iterdir()) == ["chinook.html", "sparkify.html"]
    assert (data / "dagster" / "dagster.yaml").is_file()
    assert listing(bucket) == in_bucket
    assert list(workspace.raw.iterdir()) == [] and not workspace.warehouse.exists()
    assert not workspace.dagster_home.exists() and not (workspace.root / "reports").exists()

    raw.write_bytes("chinook/NOTES.txt", NOTES["chinook/NOTES.txt"])  # the user's, now
    clean = workspace.run("music-dwh", "clean-demo", cwd=here)
    assert clean.stdout.splitlines()[0] == (
        f"{data / 'raw'}: removed {generated} generated files, kept 1 it did not write"
    )
    note = NOTES["chinook/NOTES.txt"]
    assert listing(raw) == {"chinook/NOTES.txt": (len(note), note)}
    assert sorted(p.name for p in data.iterdir()) == ["raw"]
