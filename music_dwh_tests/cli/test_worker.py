"""The load worker's way out (music_dwh/cli/worker.py ``exit_now``): the exit status, the
``atexit`` handlers (log files, dbt-duckdb's connections) and buffered output survive skipping
the interpreter's teardown."""

from __future__ import annotations

import subprocess
import sys

from music_dwh_tests.conftest import REPO_ROOT


def test_exit_now_runs_the_atexit_handlers_flushes_and_keeps_the_status(tmp_path):
    marker = tmp_path / "atexit.txt"
    code = (
        "import atexit, sys\n"
        "from music_dwh.cli.worker import exit_now\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "sys.stdout.write('buffered, no newline')\n"  # left in the buffer: must still be written
        "sys.stderr.write('to stderr')\n"
        "exit_now(3)\n"
        "print('never reached')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=str(REPO_ROOT)
    )
    assert out.returncode == 3
    assert out.stdout == "buffered, no newline" and out.stderr == "to stderr"
    assert marker.read_text() == "ran"
