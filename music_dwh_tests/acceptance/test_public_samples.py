"""Acceptance on the real public samples in ../shared/data (skipped when absent)."""

from __future__ import annotations

import re

import pytest

from music_dwh_tests.conftest import query, require_shared

pytestmark = [pytest.mark.e2e, pytest.mark.acceptance]


def test_public_sparkify_month_builds_the_expected_star_schema(workspace):
    require_shared("sparkify", "log_data")
    import shutil

    shutil.copytree(require_shared("sparkify"), workspace.raw / "sparkify")
    proc = workspace.run("music-dwh", "load", "sparkify", "--start", "2018-11-01", "--end", "2018-11-30")
    # Every check of the run (expectation suites, reconciliation, bands, dbt tests) passes.
    assert re.search(r"sparkify: checks (\d+) passed, 0 failed", proc.stdout), proc.stdout
    assert int(re.search(r"checks (\d+) passed", proc.stdout).group(1)) >= 30
    counts = dict(query(workspace.warehouse, """
        select 'staging_events', count(*) from sparkify.staging_events union all
        select 'songplays', count(*) from sparkify.songplays union all
        select 'users', count(*) from sparkify.users union all
        select 'songs', count(*) from sparkify.songs union all
        select 'artists', count(*) from sparkify.artists union all
        select 'quarantine_events', count(*) from sparkify.quarantine where target_table = 'staging_events'"""))
    assert counts == {
        "staging_events": 8056, "songplays": 6820, "users": 97, "songs": 71, "artists": 69,
        "quarantine_events": 0,
    }
    # The one documented real-data quarantine case: a song file holding its record twice.
    assert query(workspace.warehouse, "select source_file, reason from sparkify.quarantine") == [
        ("sparkify/song_data/A/A/A/TRAAAAW128F429D538.json",
         "exact duplicate of sparkify/song_data/A/A/A/TRAAAAW128F429D538.json line 1")]
    # Double-encoded names were repaired before matching.
    assert query(workspace.warehouse,
                 "select count(*) from sparkify.staging_events where artist like '%Ã%'")[0][0] == 0
    # The seeds' example queries run unchanged (unqualified names on the search path).
    import duckdb

    con = duckdb.connect(str(workspace.warehouse), read_only=True)
    con.execute("set search_path = 'sparkify'")
    top = con.execute(
        "SELECT s.title, COUNT(*) AS plays FROM songplays sp JOIN songs s ON sp.song_id = s.song_id "
        "GROUP BY s.title ORDER BY plays DESC LIMIT 5").fetchall()
    by_hour = con.execute(
        "SELECT t.hour, COUNT(*) FROM songplays sp JOIN time t ON sp.start_time = t.start_time "
        "GROUP BY t.hour ORDER BY 2 DESC").fetchall()
    con.close()
    assert top and top[0][1] >= 1
    assert sum(n for _, n in by_hour) == 6820
