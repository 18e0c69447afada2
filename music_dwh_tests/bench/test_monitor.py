"""The memory monitor every measured process runs under."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from bench.monitor import measure


def test_monitor_sees_the_memory_of_grandchildren(tmp_path: Path):
    # The child starts a grandchild that holds 150 MB for a moment: the tree's peak includes it.
    script = textwrap.dedent(
        """
        import subprocess, sys
        code = "import time; b = bytearray(150 * 1024 * 1024); time.sleep(0.5)"
        subprocess.run([sys.executable, "-c", code], check=True)
        """
    )
    m = measure([sys.executable, "-c", script], log=tmp_path / "out.log")
    assert m.returncode == 0
    assert m.peak_rss >= 150 * 1024 * 1024
    assert m.wall_s >= 0.5
    assert m.cpu_s > 0
