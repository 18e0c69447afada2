"""Run one measured process: wall time, CPU time and peak memory of its whole process tree.

* Wall: ``time.perf_counter`` around ``Popen`` … ``wait`` (interpreter start-up and imports
  included: what a user waits for).
* Peak resident memory of the tree: a thread samples the RSS of every process of the tree (the
  process and all its descendants, e.g. dbt subprocesses) at ``SAMPLE_HZ`` and keeps the
  largest sum; the list of descendants is refreshed at 2 Hz (a full /proc scan each time), so
  a child living less than half a second can be missed. A spike shorter than a sample can be
  missed too, so the result is also never below the largest per-process high-water mark
  (``VmHWM`` in /proc/<pid>/status, exact for each process) seen during the run. The
  sampler's own CPU time is reported (``monitor_cpu_s``): it runs in the harness, beside the
  measured process.
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
from dataclasses import dataclass, field
from pathlib import Path

import psutil

SAMPLE_HZ = 20
REFRESH_EVERY = 10  # samples: the process list, high-water marks and server PSS at 2 Hz
_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    wall_s: float
    cpu_s: float
    peak_rss: int  # bytes, process tree
    server_peak_pss: int | None  # bytes, PostgreSQL server tree (None when no server)
    returncode: int
    log: Path
    peak_processes: list[tuple[str, int]] = field(
        default_factory=list
    )  # (process, RSS) at the peak
    monitor_cpu_s: float = 0.0  # CPU the sampler thread itself used

    def describe_peak(self) -> str:
        """``music_dwh.cli load 0.7 GB + dbt build 2.1 GB``: who held the memory at the peak."""
        return " + ".join(f"{label} {rss / 1024**3:.2f} GB" for label, rss in self.peak_processes)

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


def _label(proc: psutil.Process) -> str:
    """A short name for a process: the program and its first arguments (``dbt build``,
    ``music_dwh.cli load``)."""
    try:
        argv = proc.cmdline()
    except psutil.Error:
        return "?"
    words = [Path(argv[0]).name] if argv else [proc.name()]
    rest = argv[1:]
    if words[0].startswith("python") and rest:
        if rest[0] == "-m" and len(rest) > 1:
            words, rest = [rest[1]], rest[2:]
        elif not rest[0].startswith("-"):
            words, rest = [Path(rest[0]).name], rest[1:]
    words += [a for a in rest[:2] if not a.startswith("-") and len(a) < 30][:1]
    return " ".join(words)


def _rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


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
    """Samples the tree's RSS at ``SAMPLE_HZ`` from /proc/<pid>/statm (cheap); every
    ``REFRESH_EVERY`` samples it also re-lists the tree (a scan of /proc), reads the
    high-water marks and the server's PSS (smaps_rollup walks page tables: costly)."""

    def __init__(self, pid: int, server_pid: int | None) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.server = psutil.Process(server_pid) if server_pid else None
        self.procs: list[psutil.Process] = [self.root]
        self.peak_rss = 0
        self.peak_hwm = 0
        self.peak_processes: list[tuple[str, int]] = []
        self.server_peak = 0
        self.cpu_s = 0.0  # the sampler's own CPU time
        self._tick = 0
        self._halt = threading.Event()

    def refresh(self) -> None:
        self.procs = _tree(self.root)
        for proc in self.procs:
            self.peak_hwm = max(self.peak_hwm, _hwm(proc.pid))
        if self.server is not None:
            self.server_peak = max(self.server_peak, sum(_pss(p.pid) for p in _tree(self.server)))

    def sample(self) -> None:
        if self._tick % REFRESH_EVERY == 0:
            self.refresh()
        self._tick += 1
        sizes = [(proc, rss) for proc in self.procs if (rss := _rss(proc.pid)) is not None]
        total = sum(rss for _, rss in sizes)
        if total > self.peak_rss:
            self.peak_rss = total
            self.peak_processes = [(_label(p), rss) for p, rss in sizes if rss >= 32 * 1024**2]

    def run(self) -> None:
        started = time.thread_time()
        interval = 1.0 / SAMPLE_HZ
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(interval)
        self.refresh()  # the high-water marks of processes still alive
        self.cpu_s = time.thread_time() - started

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
        peak_processes=sampler.peak_processes,
        monitor_cpu_s=sampler.cpu_s,
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
