"""Chinook assets end to end: a re-delivered reference snapshot changes exactly what it should,
and re-running every day changes nothing else (apart from load times)."""

from __future__ import annotations

import csv
import io

import pytest

from music_dwh_tests.conftest import query, snapshot

pytestmark = pytest.mark.e2e


def test_redelivered_snapshot_with_one_changed_track_name_updates_only_the_track(workspace):
    workspace.run(
        "music-dwh",
        "generate",
        "chinook",
        "--days",
        "8",
        "--customers",
        "25",
        "--invoices-per-day",
        "4",
        "--out",
        str(workspace.raw),
    )
    first = workspace.run("music-dwh", "load", "chinook")
    assert "chinook: checks" in first.stdout and "0 failed" in first.stdout
    before = snapshot(workspace.warehouse, "chinook")

    # Re-deliver track.csv with one sold track renamed.
    sold = query(workspace.warehouse, "select min(track_id) from chinook.fact_invoice_line")[0][0]
    path = workspace.raw / "chinook" / "reference" / "track.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    for row in rows[1:]:
        if int(row[0]) == sold:
            row[1] = "Renamed In Transit"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")

    workspace.run("music-dwh", "load", "chinook")
    after = snapshot(workspace.warehouse, "chinook")

    changed = {table for table in before if before[table] != after[table]}
    # The staging table and the dimension carry the name; top_tracks shows it to analysts.
    assert changed == {"staging_track", "dim_track", "top_tracks"}, changed
    old = set(before["dim_track"]) - set(after["dim_track"])
    new = set(after["dim_track"]) - set(before["dim_track"])
    assert len(old) == len(new) == 1
    assert "Renamed In Transit" in new.pop() and "Renamed In Transit" not in str(old)
    assert query(
        workspace.warehouse, "select track_name from chinook.dim_track where track_id = ?", [sold]
    ) == [("Renamed In Transit",)]
