"""The orchestration-cost part of the bench (issue 13): its options and why a part was not
measured. The whole part runs in ``test_harness.py``'s smoke run."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bench import orchestration
from music_dwh_tests.conftest import BIN, REPO_ROOT


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
