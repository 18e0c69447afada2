"""Sparkify checks in a real run: a failed blocking check stops everything downstream."""

from __future__ import annotations

import json

import pytest

from music_dwh_tests.conftest import query

pytestmark = pytest.mark.e2e


def test_a_failed_blocking_check_stops_downstream_assets(workspace):
    workspace.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "2",
        "--events-per-day",
        "200",
        "--songs",
        "40",
        "--out",
        str(workspace.raw),
    )
    # A well-formed event with a level the warehouse does not know: staging accepts it (it is
    # valid JSON with the right types), the blocking expectation suite must not.
    log = workspace.raw / "sparkify" / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    first = json.loads(log.read_text().splitlines()[0])
    first.update(level="premium", itemInSession=9999)
    log.write_text(log.read_text() + "\n" + json.dumps(first))

    proc = workspace.run("music-dwh", "load", "sparkify", check=False)
    assert proc.returncode == 1
    # The failed blocking check is the run's reason, said once with the failing day and value.
    assert (
        "FAILED after" in proc.stdout
        and "blocking check staging_events_expectations on sparkify/staging_events failed: "
        "1 expectation(s) failed on 2018-11-01: ExpectColumnValuesToBeInSet(level) "
        "(1 unexpected, e.g. 'premium')"
        in proc.stdout
    )
    # staging loaded (the check judges what was loaded) …
    assert (
        query(
            workspace.warehouse,
            "select count(*) from sparkify.staging_events where level = 'premium'",
        )[0][0]
        == 1
    )
    # … but nothing downstream of the failed check was built in that run.
    tables = {
        r[0]
        for r in query(
            workspace.warehouse,
            "select table_name from information_schema.tables where table_schema = 'sparkify'",
        )
    }
    assert "songplays" not in tables and "users" not in tables
