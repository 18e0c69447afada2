"""The benchmark harness (``music-dwh bench``).

The smoke test runs the whole harness at a tiny scale and checks that every part of the report
is there; it never asserts a timing (CI machines are shared and noisy). The small tests check
the pieces the report's numbers rest on: the memory monitor, the SQL splitting and streaming,
and the one-shot script's text repair.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from music_dwh.bench import common, orchestration
from music_dwh.bench.harness import APPROACHES
from music_dwh.bench.monitor import measure
from music_dwh_tests.conftest import BIN, REPO_ROOT


# ---------------------------------------------------------------------------- pieces
def test_sql_statements_split_on_line_ends_and_drop_comment_only_chunks():
    text = "-- heading\ncreate table a (x int);\n-- a comment\ninsert into a values (1);\n-- the end\n"
    assert common.sql_statements(text) == [
        "-- heading\ncreate table a (x int)",
        "-- a comment\ninsert into a values (1)",
    ]


def test_every_bench_sql_file_splits_into_statements():
    files = sorted(common.PACKAGE_DIR.rglob("*.sql"))
    assert {p.parent.name for p in files} >= {"bench", "seed_elt", "row_by_row", "queries"}
    for path in files:
        assert common.sql_statements(path.read_text()), path


def test_chained_lines_adds_the_missing_newlines_between_files(tmp_path: Path):
    (tmp_path / "a.json").write_bytes(b'{"a":1}\n{"a":2}')  # no final newline, like the logs
    (tmp_path / "b.json").write_bytes(b'{"b":1}\n')
    (tmp_path / "c.json").write_bytes(b'{"c":1}')
    reader = common.ChainedLines(sorted(tmp_path.glob("*.json")))
    data = b"".join(iter(lambda: reader.read(3), b""))
    assert data == b'{"a":1}\n{"a":2}\n{"b":1}\n{"c":1}\n'


def test_monitor_sees_the_memory_of_grandchildren(tmp_path: Path):
    # The child starts a grandchild that holds 150 MB for a moment: the tree's peak includes it.
    script = textwrap.dedent(
        """
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "import time; b = bytearray(150 * 1024 * 1024); time.sleep(0.5)"], check=True)
        """
    )
    m = measure([sys.executable, "-c", script], log=tmp_path / "out.log")
    assert m.returncode == 0
    assert m.peak_rss >= 150 * 1024 * 1024
    assert m.wall_s >= 0.5
    assert m.cpu_s > 0


def test_one_shot_repairs_double_encoded_names_like_the_staging_loader():
    import duckdb
    from ftfy import fix_encoding

    con = duckdb.connect()
    head = common.sql_file("one_shot.sql").split("create schema")[0]
    for statement in common.sql_statements(head):
        con.execute(statement)
    names = ["Björk", "Hélène Dvořák", "Земфира", "坂本龍一", "Sigur Rós", "plain ASCII"]
    for name in names:
        mangled = name.encode("utf-8").decode("latin-1").encode("utf-8").decode("latin-1")
        assert con.execute("select repair_text(?)", [mangled]).fetchone()[0] == fix_encoding(mangled) == name
        assert con.execute("select repair_text(?)", [name]).fetchone()[0] == name


def test_bench_rejects_an_unknown_approach():
    proc = subprocess.run([str(BIN / "music-dwh"), "bench", "--approaches", "duckdb,spark"],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert "unknown approach(es) spark" in proc.stderr


def test_bench_rejects_spread_events_that_do_not_divide_into_both_spreads():
    proc = subprocess.run([str(BIN / "music-dwh"), "bench", "--spread-events", "100", "--spread-days", "3,7"],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert "--spread-events 100 is not a multiple of 3 and 7" in proc.stderr


def test_chinook_part_says_why_it_was_not_measured(tmp_path: Path):
    from types import SimpleNamespace

    def chinook(**config) -> str:
        cfg = SimpleNamespace(**{"skip_chinook": False, "chinook_sqlite": tmp_path / "shared" / "Chinook_Sqlite.sqlite",
                                 **config})  # fmt: skip
        return orchestration.run_chinook(SimpleNamespace(config=cfg, work=tmp_path / "work")).status

    assert chinook() == f"not measured: {orchestration._shown(tmp_path / 'shared')} not found"
    (tmp_path / "shared").mkdir()
    assert chinook().endswith("shared/Chinook_Sqlite.sqlite not found")
    assert chinook(skip_chinook=True) == "not measured: --skip-chinook"
    beside = orchestration.REPO_ROOT.parent / "shared" / "data" / "chinook"
    assert orchestration._shown(beside) == "../shared/data/chinook"
    assert not (tmp_path / "work").exists()  # nothing was started


# ---------------------------------------------------------------------------- smoke
@pytest.mark.e2e
def test_bench_smoke_run_produces_every_part_of_the_report(tmp_path: Path):
    """Every approach, the targets, the profile, incremental, storage, queries and the
    orchestration costs (import baseline, the same events over 2 vs 4 days, the public Chinook
    history when ../shared has it), at a tiny scale (8–10 `music-dwh load` processes: the bulk
    of the ≈6 minutes)."""
    out = tmp_path / "results.md"
    chinook = orchestration.DEFAULT_CHINOOK_SQLITE.is_file()
    proc = subprocess.run(
        [str(BIN / "music-dwh"), "bench", "--days", "2", "--events-per-day", "200", "--songs", "60",
         "--repeat", "1", "--incremental-loaded", "1,2", "--incremental-events-per-day", "50",
         "--spread-events", "120", "--spread-days", "2,4",
         "--out", str(out), "--workdir", str(tmp_path / "work")],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=1500, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    text = out.read_text()
    assert text in proc.stdout  # also printed

    results = text.split("## Results")[1].split("\n## ")[0]
    for label in APPROACHES.values():
        row = next((line for line in results.splitlines() if line.startswith(f"| {label}")), None)
        assert row is not None, f"no row for {label}"
        assert "FAILED" not in row
    assert "star schema equals music_dwh's on DuckDB" in results

    targets = text.split("## Targets")[1].split("\n## ")[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == 11
    assert "not measured in this run" in targets  # the 10× memory target needs --scale 10

    def target(start: str) -> str:
        found = [row for row in rows if row.startswith(f"| {start}")]
        assert len(found) == 1, (start, rows)
        return found[0]

    assert target("music_dwh on DuckDB `--through star` faster than the seeds' ELT").endswith(("| met |", "| **NOT MET** |"))
    assert "within 3× of the one-shot DuckDB script (2× at 10× scale)" in target("music_dwh on DuckDB within 3×")
    assert target("one new 50-event day with 30 days loaded ≤ 3× `python -c").endswith(
        "| not measured: 30 is not in --incremental-loaded |")
    assert target("the same 120 events over 4 vs 2 days").endswith(("| met |", "| **NOT MET** |"))
    for instance in ("SQLite instance", "PostgreSQL-backed instance"):
        row = next(r for r in rows if r.startswith("| public Chinook history") and instance in r)
        if chinook:
            assert row.startswith("| public Chinook history (1,817 days): `music-dwh load chinook` ≤ 30 s")
            assert row.endswith(("| met |", "| **NOT MET** |")), row
        else:
            assert row.endswith("| not measured: ../shared/data/chinook not found |"), row

    orch = text.split("## Orchestration cost")[1].split("\n## ")[0]
    assert 'Import baseline: `python -c "import dagster, dagster_dbt, dbt.cli.main"`' in orch
    assert "| 2 | 60 | 120 |" in orch and "| 4 | 30 | 120 |" in orch
    assert "builds the same star schema as the one-shot script, row for row" in orch
    if chinook:
        assert "**1,817 daily partitions** (2021-01-01 – 2025-12-22" in orch
        assert "| SQLite instance (files in DAGSTER_HOME) | " in orch
        assert "| PostgreSQL-backed instance (`MUSIC_DWH_DAGSTER_STORAGE=postgresql://…`) | " in orch
        assert len(re.findall(r"\| checks \d+ passed, 0 failed \|", orch.split("### Public Chinook")[1])) == 2
    else:
        assert "not measured: ../shared/data/chinook not found." in orch

    assert "## Where music_dwh's time goes" in text
    assert "dbt executing models and tests" in text
    incremental = text.split("## Incremental cost")[1].split("\n## ")[0]
    assert "| 1 | 2018-11-02 |" in incremental and "| 2 | 2018-11-03 |" in incremental
    storage = text.split("## Storage")[1].split("\n## ")[0]
    for table in ("songplays", "staging_events", "**total on disk**", "**share of the raw JSON**"):
        assert f"| {table} |" in storage
    queries = text.split("## Query latency")[1].split("\n## ")[0]
    for name in ("top_songs", "plays_by_hour", "users_by_level", "top_artists_by_week"):
        assert f"| `{name}` |" in queries
    assert "| CPU |" in text and "| PostgreSQL |" in text

    data = json.loads(out.with_suffix(".json").read_text())
    assert set(data["approaches"]) == set(APPROACHES)
    assert all(a["runs"] and a["runs"][0]["ok"] for a in data["approaches"].values())
    assert len(data["targets"]) == 11
    assert {t["target"] for t in data["targets"]} == {row.split(" | ")[0][2:] for row in rows}
    orch = data["orchestration"]
    assert orch["import_baseline"]["median_s"] > 0
    assert [(p["days"], p["events"]) for p in orch["spread"]] == [(2, 120), (4, 120)]
    assert all(p["timing"]["median_s"] > 0 for p in orch["spread"])
    if chinook:
        assert orch["chinook"]["days"] == 1817
        assert set(orch["chinook"]["instances"]) == {"sqlite", "postgresql"}
        assert all(t["median_s"] > 0 for t in orch["chinook"]["instances"].values())
    else:
        assert orch["chinook"]["status"] == "not measured: ../shared/data/chinook not found"


@pytest.mark.e2e
def test_sigterm_stops_the_bench_and_everything_it_started(tmp_path: Path):
    """SIGTERM while music_dwh loads under the bench: exit 143 within seconds, one line, and no
    process left behind (the load's worker, the benchmark's PostgreSQL server)."""
    import os
    import signal
    import time

    import psutil

    work = tmp_path / "work"
    proc = subprocess.Popen(
        [str(BIN / "music-dwh"), "bench", "--days", "2", "--events-per-day", "200", "--songs", "60",
         "--approaches", "postgres,duckdb", "--repeat", "1", "--skip-incremental", "--skip-queries",
         "--out", str(tmp_path / "r.md"), "--workdir", str(work)],
        cwd=REPO_ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip

    def started_by_bench() -> list[psutil.Process]:
        found = []
        for p in psutil.process_iter():
            try:
                if p.pid != proc.pid and (str(work) in " ".join(p.cmdline()) or str(work) in p.environ().get("DAGSTER_HOME", "")):
                    if p.status() != psutil.STATUS_ZOMBIE:
                        found.append(p)
            except psutil.Error:
                continue
        return found

    deadline = time.monotonic() + 300
    while not any("music_dwh.runs.worker" in " ".join(p.cmdline()) for p in started_by_bench()):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the bench never started a music-dwh load"
        time.sleep(0.2)
    sent = time.monotonic()
    os.kill(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    took = time.monotonic() - sent
    assert proc.returncode == 143, err[-3000:]
    assert took < 15, f"the bench took {took:.1f} s to stop"
    assert "bench stopped by SIGTERM" in err and "Traceback" not in err
    time.sleep(1)
    assert started_by_bench() == []
