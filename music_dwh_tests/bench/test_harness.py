"""The benchmark harness (``music-dwh bench``).

The smoke test runs the whole harness at a tiny scale and checks that every part of the report
is there; it never asserts a timing (CI machines are shared and noisy). The pieces the report's
numbers rest on are tested beside their modules (``test_monitor.py``, ``test_common.py``,
``test_one_shot.py``, ``test_options.py``, ``test_orchestration.py``, ``test_report.py``).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from bench import orchestration
from bench.model import APPROACHES
from music_dwh_tests.conftest import BIN, REPO_ROOT


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
    assert proc.returncode == 0, (
        f"--- stdout\n{proc.stdout[-6000:]}\n--- stderr\n{proc.stderr[-4000:]}"
    )
    text = out.read_text()
    assert text in proc.stdout  # also printed

    results = text.split("## Results")[1].split("\n## ")[0]
    for label in APPROACHES.values():
        row = next((line for line in results.splitlines() if line.startswith(f"| {label}")), None)
        assert row is not None, f"no row for {label}"
        assert "FAILED" not in row
    assert "star schema equals music_dwh's on DuckDB" in results

    targets = text.split("## Targets")[1].split("\n## ")[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and "---" not in line][
        1:
    ]
    assert len(rows) == 12
    assert "not measured in this run" in targets  # the 10× memory target needs --scale 10

    def target(start: str) -> str:
        found = [row for row in rows if row.startswith(f"| {start}")]
        assert len(found) == 1, (start, rows)
        return found[0]

    assert target("music_dwh on DuckDB `--through star` faster than the seeds' ELT").endswith(
        ("| met |", "| **NOT MET** |")
    )
    assert "within 3× of the one-shot DuckDB script (2× at 10× scale)" in target(
        "music_dwh on DuckDB within 3×"
    )
    assert target("one new 50-event day with 30 days loaded ≤ 3× `python -c").endswith(
        "| not measured: 30 is not in --incremental-loaded |"
    )
    staging_row = target("default scale: the `staging_events` step ≤ 1.5 s")
    assert re.search(r"\| [\d.]+ s \([\d,]+ events/s\); DuckDB's own unjudged load", staging_row)
    assert staging_row.endswith(("| met |", "| **NOT MET** |"))
    assert target("the same 120 events over 4 vs 2 days").endswith(("| met |", "| **NOT MET** |"))
    for instance in ("SQLite instance", "PostgreSQL-backed instance"):
        row = next(r for r in rows if r.startswith("| public Chinook history") and instance in r)
        if chinook:
            assert row.startswith(
                "| public Chinook history (1,817 days): `music-dwh load chinook` ≤ 30 s"
            )
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
        assert (
            "| PostgreSQL-backed instance (`MUSIC_DWH_DAGSTER_STORAGE=postgresql://…`) | " in orch
        )
        assert (
            len(
                re.findall(
                    r"\| checks \d+ passed, 0 failed \|", orch.split("### Public Chinook")[1]
                )
            )
            == 2
        )
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
    assert len(data["targets"]) == 12
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
                ours = str(work) in " ".join(p.cmdline()) or str(work) in p.environ().get(
                    "DAGSTER_HOME", ""
                )
                if p.pid != proc.pid and ours and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p)
            except psutil.Error:
                continue
        return found

    deadline = time.monotonic() + 300
    while not any("music_dwh.cli.worker" in " ".join(p.cmdline()) for p in started_by_bench()):
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
