"""What ``music-dwh load`` says (music_dwh/cli/run.py, progress.py, load.py's plan;
music_dwh/automation/failures.py): data problems visible on a run that succeeds, and every
failure's reason once, in one or two lines, without Dagster's class names.

Real processes on generated data: the CLI as a user runs it, the staging layer only (where
each of these problems shows)."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import sys

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from music_dwh.automation.alerts import will_be_retried
from music_dwh.framework import MAX_RETRIES_TAG, WILL_RETRY_TAG
from music_dwh_tests.conftest import REPO_ROOT, query, spoil_log_day

pytestmark = pytest.mark.e2e

RUN = r"sparkify: run [0-9a-f-]{36}"
SECONDS = r"[\d.]+ s"
QUARANTINE = "sparkify.quarantine"


@pytest.fixture
def three_days(workspace):
    """Three Sparkify days, 2018-11-01 … 2018-11-03, of 200 events each."""
    workspace.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "3",
        "--events-per-day",
        "200",
        "--songs",
        "40",
        "--out",
        str(workspace.raw),
    )
    return workspace


def log_file(ws, day: int):
    return ws.raw / "sparkify" / "log_data" / "2018" / "11" / f"2018-11-{day:02d}-events.json"


def load(ws, *args: str) -> subprocess.CompletedProcess:
    return ws.run("music-dwh", "load", "sparkify", "--through", "staging", *args, check=False)


def line_matching(pattern: str, output: str) -> str:
    """The one line of ``output`` that ``pattern`` matches from its start."""
    found = [line for line in output.splitlines() if re.match(pattern, line)]
    assert len(found) == 1, (pattern, output[-3000:])
    return found[0]


def assert_said_once(proc: subprocess.CompletedProcess, text: str) -> None:
    output = proc.stdout + proc.stderr
    assert output.count(text) == 1, output[-3000:]
    assert "dagster." not in output and "Traceback" not in output, output[-3000:]


def test_quarantined_lines_and_days_without_a_file_are_counted(three_days):
    ws = three_days
    with log_file(ws, 2).open("a") as fh:
        fh.write("\n{broken\nnot json\n[1, 2]")
    proc = load(ws, "--end", "2018-11-05")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    staged = line_matching(r"  ✓ sparkify__staging_events ", proc.stdout)
    assert re.fullmatch(
        rf"  ✓ sparkify__staging_events \({SECONDS}, 5 day\(s\) staged, 3 record\(s\) "
        rf"quarantined in {re.escape(QUARANTINE)}, 2 day\(s\) without a file\)",
        staged,
    ), staged
    # The catalogue's repeated song records are quarantined too: the summary counts every one.
    (quarantined,) = query(ws.warehouse, f"select count(*) from {QUARANTINE}")[0]
    summary = line_matching(RUN, proc.stdout)
    assert re.fullmatch(
        rf"{RUN} succeeded in {SECONDS}; {quarantined} record\(s\) quarantined in "
        rf"{re.escape(QUARANTINE)}; 2 day\(s\) without a file",
        summary,
    ), summary


def test_a_range_without_any_file_is_refused_before_a_run(three_days):
    ws = three_days
    proc = load(ws, "--start", "2018-12-01", "--end", "2018-12-03")
    assert proc.returncode == 2
    assert proc.stdout == ""  # no run started
    assert proc.stderr.splitlines()[0] == (
        "music-dwh: no sparkify file for any day of 2018-12-01 … 2018-12-03: the raw store "
        f"{ws.raw} has sparkify files for 2018-11-01 … 2018-11-03 (3 days). Choose "
        "--start/--end within those days."
    )


def test_a_reader_holding_the_duckdb_file_is_named_with_the_timeout(three_days, monkeypatch):
    ws = three_days
    monkeypatch.setenv("MUSIC_DWH_LOCK_TIMEOUT", "2s")  # the workspace's env reads it
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys\n"
            f"con = duckdb.connect({str(ws.warehouse)!r})\n"
            "print('open', flush=True)\n"
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "open\n"
        proc = load(ws)
    finally:
        holder.communicate(timeout=30)
    assert proc.returncode == 1
    failed = line_matching(RUN, proc.stdout)
    assert re.fullmatch(
        rf"{RUN} FAILED after {SECONDS}: gave up after \d+ s waiting for the DuckDB warehouse "
        rf"{re.escape(str(ws.warehouse))}: process {holder.pid} \(.+\) has it open, and DuckDB "
        r"allows one writer process\. Close that program \(or let its run finish\) and retry, "
        r"or raise MUSIC_DWH_LOCK_TIMEOUT \(now 2 s\)\.",
        failed,
    ), failed
    assert_said_once(proc, "allows one writer process")


def test_a_day_over_the_threshold_names_the_days_of_its_transaction(three_days):
    """The first day is written alone, the next two in one transaction: the third day over the
    quarantine threshold rolls back the healthy second day with it."""
    ws = three_days
    lines = log_file(ws, 3).read_text().split("\n")
    lines[:30] = ["{not json"] * 30
    log_file(ws, 3).write_text("\n".join(lines))
    proc = load(ws)
    assert proc.returncode == 1
    failed = line_matching(RUN, proc.stdout)
    share = f"{30 / len(lines):.1%}"
    assert re.fullmatch(
        rf"{RUN} FAILED after {SECONDS}: "
        + re.escape(
            f"staging_events for 2018-11-03: 30 of {len(lines)} raw records ({share}) are bad, "
            "more than the 5% allowed (MUSIC_DWH_QUARANTINE_THRESHOLD); not staged, their "
            "previous rows kept: 2018-11-03 and 2018-11-02 (rolled back with it: the same "
            "transaction)."
        ),
        failed,
    ), failed
    after = proc.stdout.splitlines()[proc.stdout.splitlines().index(failed) + 1]
    assert after == (
        f"  First bad record: {log_file(ws, 3).relative_to(ws.raw)} line 1: malformed JSON: "
        "unexpected character, expected a string key: line 1 column 2 (char 1). Fix or "
        "re-deliver the file(s), or raise the threshold if this share is expected. "
        "(more with -v)"
    )
    assert_said_once(proc, "30 of")
    assert "  ✗ sparkify__staging_events FAILED" in proc.stdout
    days = query(ws.warehouse, "select distinct partition_date from sparkify.staging_events")
    assert [str(d) for (d,) in days] == ["2018-11-01"]


def test_a_failed_blocking_check_names_the_check_and_a_failing_value(three_days):
    ws = three_days
    # A well-formed event with a level the warehouse does not know: staging accepts it (valid
    # JSON with the right types), the blocking expectation suite must not.
    text = log_file(ws, 2).read_text()
    event = json.loads(text.splitlines()[0])
    event.update(level="premium", itemInSession=9999)
    log_file(ws, 2).write_text(text + "\n" + json.dumps(event))
    proc = load(ws)
    assert proc.returncode == 1
    failed = line_matching(RUN, proc.stdout)
    assert re.fullmatch(
        rf"{RUN} FAILED after {SECONDS}: "
        + re.escape(
            "blocking check staging_events_expectations on sparkify/staging_events failed: "
            "1 expectation(s) failed on 2018-11-02: ExpectColumnValuesToBeInSet(level) "
            "(1 unexpected, e.g. 'premium')"
        ),
        failed,
    ), failed
    assert_said_once(proc, "staging_events_expectations on")
    assert "error: sparkify/staging_events staging_events_expectations" not in proc.stdout


DAY = dt.date(2018, 11, 1)


def test_a_failed_load_run_is_not_marked_as_going_to_be_retried(workspace):
    """Nothing re-executes a ``music-dwh load`` run (the daemon needs a code location), so it
    says so: Dagster then tags it ``dagster/will_retry=false`` whatever made it fail (a step,
    or its process lost), and its failure alerts at once."""
    workspace.dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "dagster.yaml", workspace.dagster_home / "dagster.yaml")
    workspace.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "1",
        "--events-per-day",
        "50",
        "--songs",
        "10",
        "--out",
        str(workspace.raw),
    )
    spoil_log_day(workspace.raw, DAY.isoformat())
    # The CLI in its own process, as a user runs it: a run in this test process would use the
    # Definitions (and their raw store) of whichever test imported them first.
    proc = workspace.run("music-dwh", "load", "sparkify", "--through", "staging", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    with DagsterInstance.get() as instance:
        assert instance.run_retries_enabled  # as shipped: the tag below is decided
        (run,) = instance.get_runs()
    assert run.status == DagsterRunStatus.FAILURE
    assert run.tags[MAX_RETRIES_TAG] == "0"
    assert run.tags[WILL_RETRY_TAG] == "false"
    assert not will_be_retried(run)
