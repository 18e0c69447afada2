"""A killed or interrupted ``music-dwh load`` never blocks the next one and leaves every
partition as it was (music_dwh/cli/supervisor.py, worker.py; music_dwh/instance/cleanup.py).

Real processes: ``music-dwh load`` is started as a user would, the test waits in the Dagster
instance for the phase under test (staging, the checks, dbt), freezes the worker there
(SIGSTOP, so the step is provably still running) and then sends the signal under test to the
command's own pid."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from music_dwh_tests.conftest import BIN, REPO_ROOT, Workspace, snapshot

pytestmark = pytest.mark.e2e

# The steps of each phase, with a day range large enough that the phase lasts a moment. One
# check step lasts ≈50 ms, about a poll of the instance: the checks phase is the four check
# steps of staging_events (they run after it, before dbt).
PHASES = {
    "staging": ("sparkify__staging_events",),
    "checks": tuple(
        f"sparkify__staging_events_staging_events_{check}"
        for check in ("distribution", "expectations", "reconciliation", "row_count_band")
    ),
    "dbt": ("sparkify_dbt",),
}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("interrupts")
    ws = Workspace(
        root=root,
        raw=root / "raw",
        warehouse=root / "warehouse.duckdb",
        dagster_home=root / "dagster",
    )
    ws.raw.mkdir()
    ws.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "12",
        "--events-per-day",
        "2000",
        "--songs",
        "80",
        "--out",
        str(ws.raw),
    )
    proc = ws.run("music-dwh", "load", "sparkify")
    assert "succeeded" in proc.stdout, proc.stdout[-3000:]
    before = snapshot(ws.warehouse, "sparkify")
    assert before["songplays"] and before["staging_events"]
    return ws, before


def _instance(ws: Workspace):
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(ws.dagster_home))


def _latest_run(instance, known: set[str]):
    for run in instance.get_runs(limit=5):
        if run.run_id not in known:
            return run
    return None


def _step_events(instance, run_id: str, kind) -> set[str]:
    return {
        r.event_log_entry.step_key
        for r in instance.get_records_for_run(run_id, of_type=kind).records
    }


def start_load_and_freeze_in(ws: Workspace, steps: tuple[str, ...]):
    """Start ``music-dwh load sparkify``; once one of ``steps`` (a phase) has started, stop the
    worker's whole process group (SIGSTOP) and check the phase has not finished: one of its
    steps is still to run or to end. Returns (proc, worker pid, run id)."""
    from dagster import DagsterEventType

    instance = _instance(ws)
    try:
        known = {r.run_id for r in instance.get_runs()}
        proc = subprocess.Popen(
            [str(BIN / "music-dwh"), "load", "sparkify"],
            cwd=REPO_ROOT,
            env=ws.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 180
        run = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            run = run or _latest_run(instance, known)
            if run is not None:
                try:
                    started = _step_events(instance, run.run_id, DagsterEventType.STEP_START)
                except Exception:  # the writer holds SQLite for a moment: read again
                    started = set()
                if started & set(steps):
                    break
            time.sleep(0.02)
        else:
            proc.kill()
            raise AssertionError(f"none of {steps} started: {proc.communicate()}")
        worker = next(
            c
            for c in psutil.Process(proc.pid).children()
            if "music_dwh.cli.worker" in " ".join(c.cmdline())
        )
        os.killpg(worker.pid, signal.SIGSTOP)
        done = _step_events(instance, run.run_id, DagsterEventType.STEP_SUCCESS) | _step_events(
            instance, run.run_id, DagsterEventType.STEP_FAILURE
        )
        if set(steps) <= done:
            os.killpg(worker.pid, signal.SIGCONT)
            proc.kill()
            pytest.fail(f"{steps} finished before the worker was frozen; make the phase longer")
        return proc, worker.pid, run.run_id
    finally:
        instance.dispose()


def group_members(pgid: int) -> list[int]:
    members = []
    for p in psutil.process_iter():
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                members.append(p.pid)
        except (ProcessLookupError, psutil.Error):
            continue
    return members


def run_state(ws: Workspace, run_id: str):
    instance = _instance(ws)
    try:
        run = instance.get_run_by_id(run_id)
        holders = instance.event_log_storage.get_concurrency_run_ids()
        return run, holders
    finally:
        instance.dispose()


@pytest.mark.parametrize("phase", list(PHASES))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_an_interrupt_stops_the_load_within_seconds_and_changes_nothing(loaded, phase, signum):
    ws, before = loaded
    proc, worker, run_id = start_load_and_freeze_in(ws, PHASES[phase])
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    took = time.monotonic() - sent
    assert proc.returncode == 128 + signum, (out[-2000:], err[-2000:])
    assert took < 10, f"the load took {took:.1f} s to stop"
    lines = [line for line in err.splitlines() if line.strip()]
    assert (
        lines and "stopped by" in lines[-1] and run_id[:8] in lines[-1] and "canceled" in lines[-1]
    ), err
    assert "Traceback" not in err
    run, holders = run_state(ws, run_id)
    assert run.status.value == "CANCELED"
    assert run_id not in holders  # no pool slot or pending step left
    assert group_members(worker) == []  # the worker and its dbt are gone
    assert snapshot(ws.warehouse, "sparkify") == before
    assert_writer_lock_free(ws)  # the next load would start at once


def assert_writer_lock_free(ws: Workspace) -> None:
    from music_dwh.resources.writer_lock import exclusive_writer

    with exclusive_writer(ws.warehouse, timeout=0, say=pytest.fail):
        pass


@pytest.mark.parametrize("phase", list(PHASES))
def test_after_kill_9_the_next_load_cleans_up_and_completes(loaded, phase):
    ws, before = loaded
    proc, worker, run_id = start_load_and_freeze_in(ws, PHASES[phase])
    proc.send_signal(signal.SIGKILL)  # the command itself, as the OOM killer would
    proc.wait(timeout=30)
    os.killpg(worker, signal.SIGCONT)  # undo the test's freeze for whatever is left
    deadline = time.monotonic() + 10
    while psutil.pid_exists(worker) and psutil.Process(worker).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the worker outlived its command"
        time.sleep(0.1)
    run, _ = run_state(ws, run_id)
    assert not run.is_finished  # nobody has told the instance yet
    started = time.monotonic()
    after = ws.run("music-dwh", "load", "sparkify", timeout=600)
    assert time.monotonic() - started < 600
    assert (
        f"cleaned up run {run_id[:8]}" in after.stdout and "ended without finishing" in after.stdout
    )
    assert "succeeded" in after.stdout
    run, holders = run_state(ws, run_id)
    assert run.status.value == "FAILURE" and run_id not in holders
    assert run.tags["dagster/will_retry"] == "false"  # nothing re-executes a load's run
    assert group_members(worker) == []  # leftovers (an orphaned dbt) were ended
    assert snapshot(ws.warehouse, "sparkify") == before


def _hold_writer_lock(ws: Workspace) -> subprocess.Popen:
    holder = subprocess.Popen(
        [
            str(BIN / "python"),
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from music_dwh.resources.writer_lock import exclusive_writer\n"
            f"with exclusive_writer(Path({str(ws.warehouse)!r}), timeout=5, say=print, "
            "run_id='0badc0de-0000', command='a test holder'):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(120)\n",
        ],
        cwd=REPO_ROOT,
        env=ws.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    return holder


def _wait_for_line(proc: subprocess.Popen, needle: str, timeout: float = 120) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} never printed: {''.join(seen)[-3000:]}")


def test_a_load_behind_a_live_holder_says_who_waits_quietly_and_gives_up(loaded):
    ws, before = loaded
    holder = _hold_writer_lock(ws)
    try:
        env = {**ws.env, "MUSIC_DWH_LOCK_TIMEOUT": "6s"}
        proc = subprocess.Popen(
            [str(BIN / "music-dwh"), "load", "sparkify"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines = _wait_for_line(proc, "waiting for the warehouse")
        waiting = lines[-1]
        assert (
            "run 0badc0de" in waiting
            and "a test holder" in waiting
            and f"pid {holder.pid}" in waiting
        )
        worker = next(
            c
            for c in psutil.Process(proc.pid).children()
            if "music_dwh.cli.worker" in " ".join(c.cmdline())
        )
        cpu_before = sum(worker.cpu_times()[:2])
        time.sleep(3)
        cpu_used = sum(worker.cpu_times()[:2]) - cpu_before
        assert cpu_used < 0.5, f"waiting burned {cpu_used:.2f} s of CPU in 3 s"
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 1
        assert "gave up after" in err and "MUSIC_DWH_LOCK_TIMEOUT" in err and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()
    assert snapshot(ws.warehouse, "sparkify") == before


def test_ctrl_c_while_waiting_stops_at_once(loaded):
    ws, _ = loaded
    holder = _hold_writer_lock(ws)
    try:
        proc = subprocess.Popen(
            [str(BIN / "music-dwh"), "load", "sparkify"],
            cwd=REPO_ROOT,
            env=ws.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        _wait_for_line(proc, "waiting for the warehouse")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130 and time.monotonic() - sent < 10
        assert "stopped by Ctrl-C" in err and "no run had started" in err
    finally:
        holder.kill()
        holder.wait()


def test_a_dead_holder_does_not_block(loaded):
    """The lock dies with its process: a holder killed with -9 leaves nothing to wait for."""
    ws, _ = loaded
    holder = _hold_writer_lock(ws)
    holder.kill()
    holder.wait()
    proc = ws.run(
        "music-dwh", "load", "sparkify", "--start", "2018-11-02", "--end", "2018-11-02", timeout=300
    )
    assert "waiting for the warehouse" not in proc.stdout and "succeeded" in proc.stdout


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_generate_stops_on_a_signal_and_leaves_no_partial_file(tmp_path: Path, signum):
    ws = Workspace(
        root=tmp_path,
        raw=tmp_path / "raw",
        warehouse=tmp_path / "w.duckdb",
        dagster_home=tmp_path / "dagster",
    )
    proc = subprocess.Popen(
        [
            str(BIN / "music-dwh"),
            "generate",
            "sparkify",
            "--days",
            "400",
            "--events-per-day",
            "3000",
            "--out",
            str(ws.raw),
            "-v",
        ],
        cwd=REPO_ROOT,
        env=ws.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_line(proc, "2018-11-0")  # a few days written
    sent = time.monotonic()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum and time.monotonic() - sent < 10, err
    assert "generate stopped by" in err and "Traceback" not in err
    assert not [p for p in ws.raw.rglob("*") if p.name.startswith(".tmp-")]
    import json

    for path in ws.raw.rglob("*-events.json"):
        for line in path.read_text().splitlines():
            json.loads(line)  # every written file is whole
