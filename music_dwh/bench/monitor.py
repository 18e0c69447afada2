"""Run one measured process: wall time, CPU time and peak memory of its whole process tree.

* Wall: ``time.perf_counter`` around ``Popen`` … ``wait`` (interpreter start-up and imports
  included: what a user waits for).
* Peak resident memory of the tree: a thread samples every process of the tree (the process
  and all its descendants, e.g. dbt subprocesses) at ``SAMPLE_HZ`` and keeps the largest sum of
  RSS. A spike shorter than a sample can be missed, so the result is also never below the
  largest per-process high-water mark (``VmHWM`` in /proc/<pid>/status, exact for each
  process) seen during the run.
* CPU: user + system seconds of the tree, from ``getrusage(RUSAGE_CHILDREN)`` before and
  after (exact for every descendant that was waited for).
* A PostgreSQL server is not a child of the measured process: when ``server_pid`` is given,
  its tree (postmaster and backends) is sampled too and reported apart as the peak sum of
  PSS (proportional set size: shared buffers counted once, not once per backend).
"""

from __future__ import annotations

import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_HZ = 20


@dataclass
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss: int  # bytes, process tree
    server_peak_pss: int | None  # bytes, PostgreSQL server tree (None when no server)
    returncode: int
    log: Path

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _hwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _pss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # no smaps_rollup (old kernel): plain RSS, an over-estimate for shared memory
        return psutil.Process(pid).memory_info().rss
    except psutil.Error:
        return 0


class _Sampler(threading.Thread):
    def __init__(self, pid: int, server_pid: int | None) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.server = psutil.Process(server_pid) if server_pid else None
        self.peak_rss = 0
        self.peak_hwm = 0
        self.server_peak = 0
        self._halt = threading.Event()

    def sample(self) -> None:
        total = 0
        for proc in _tree(self.root):
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
            self.peak_hwm = max(self.peak_hwm, _hwm(proc.pid))
        self.peak_rss = max(self.peak_rss, total)
        if self.server is not None:
            self.server_peak = max(self.server_peak, sum(_pss(p.pid) for p in _tree(self.server)))

    def run(self) -> None:
        interval = 1.0 / SAMPLE_HZ
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(
    argv: Sequence[str],
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    server_pid: int | None = None,
    timeout: float | None = None,
) -> Measurement:
    """Run ``argv`` to completion (output to ``log``) and measure it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    cpu_before = _children_cpu()
    with open(log, "wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, env=dict(env) if env is not None else None,
            cwd=cwd,
        )  # fmt: skip
        sampler = _Sampler(proc.pid, server_pid)
        sampler.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            wall = time.perf_counter() - started
            sampler.stop()
    return Measurement(
        wall_s=wall,
        cpu_s=_children_cpu() - cpu_before,
        peak_rss=max(sampler.peak_rss, sampler.peak_hwm),
        server_peak_pss=sampler.server_peak if server_pid else None,
        returncode=returncode,
        log=log,
    )


def proc_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The harness's environment plus ``extra`` (telemetry always off)."""
    return {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
