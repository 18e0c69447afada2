"""The options of ``music-dwh bench``."""

from __future__ import annotations

import subprocess

from music_dwh_tests.conftest import BIN, REPO_ROOT


def test_bench_rejects_an_unknown_approach():
    proc = subprocess.run([str(BIN / "music-dwh"), "bench", "--approaches", "duckdb,spark"],
                          capture_output=True, text=True, cwd=REPO_ROOT, check=False)  # fmt: skip
    assert proc.returncode == 2
    assert "unknown approach(es) spark" in proc.stderr
