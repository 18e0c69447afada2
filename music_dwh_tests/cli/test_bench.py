"""``music-dwh bench`` and ``bench-latency`` without the benchmark installed
(music_dwh/cli/bench.py)."""

from __future__ import annotations

import pytest

from music_dwh.cli.bench import BENCH_MISSING

pytestmark = pytest.mark.e2e


def test_bench_commands_say_in_one_line_when_the_bench_is_not_installed(workspace):
    script = (
        "import sys\n"
        "sys.modules['bench'] = None  # as if bench/ were not installed: its import fails\n"
        "from music_dwh.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for command in ("bench", "bench-latency"):
        proc = workspace.run(
            "python", "-c", script, command, "--help", cwd=workspace.root, check=False
        )
        assert (proc.returncode, proc.stderr) == (2, f"music-dwh: {BENCH_MISSING}\n")
