"""End to end: absurd values in a delivery are quarantined at staging, and one absurd value in
one record never stops a system's marts or its report (issue 12).

Before the physical ranges, a log event with ``"length": 1e308`` was staged and the
``session_lengths`` mart failed (DOUBLE inf cast to INT64), failing the whole marts step.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from music_dwh_tests.conftest import query

pytestmark = pytest.mark.e2e


def _append_lines(path, lines: list[str]) -> int:
    """Append ``lines`` to a raw file; the physical line number of the first one."""
    text = path.read_text(encoding="utf-8").rstrip("\n")
    first = len(text.splitlines()) + 1
    path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return first


def test_absurd_sparkify_values_are_quarantined_and_the_marts_and_report_build(workspace):
    ws = workspace
    ws.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "2",
        "--events-per-day",
        "300",
        "--songs",
        "120",
        "--out",
        str(ws.raw),
    )
    log = ws.raw / "sparkify" / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    play = next(e for e in map(json.loads, log.read_text().splitlines()) if e["page"] == "NextSong")
    absurd = [  # (changes, the start of the reason)
        ({"length": 1e308}, "field 'length': 1e+308 is out of range"),
        ({"length": -1.0}, "field 'length': -1.0 is out of range"),
        ({"ts": 1e308}, "field 'ts': 1e+308 is out of range"),
        ({"registration": 1e20}, "field 'registration': 1e+20 is out of range"),
        ({"sessionId": 2**31}, "field 'sessionId': 2147483648 is out of range"),
        ({"itemInSession": -1}, "field 'itemInSession': -1 is out of range"),
        ({"status": 999}, "field 'status': 999 is out of range"),
        (
            {"userId": "99999999999999999999"},
            "field 'userId': '99999999999999999999' is out of range",
        ),
    ]
    first = _append_lines(
        log,
        [
            json.dumps({**play, "itemInSession": 9000 + i, **changes})
            for i, (changes, _) in enumerate(absurd)
        ],
    )
    assert '"length": 1e+308' in log.read_text()  # a valid JSON double, as delivered
    song = json.loads(next((ws.raw / "sparkify" / "song_data").rglob("*.json")).read_text())
    bad_songs = {
        "TRBAD000000000001": ({"year": 20000}, "field 'year': 20000 is out of range"),
        "TRBAD000000000002": ({"duration": 1e308}, "field 'duration': 1e+308 is out of range"),
        "TRBAD000000000003": (
            {"artist_latitude": 100.0},
            "field 'artist_latitude': 100.0 is out of range",
        ),
    }
    for i, (name, (changes, _)) in enumerate(bad_songs.items()):
        path = ws.raw / "sparkify" / "song_data" / "Z" / "Z" / "Z" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({**song, "song_id": f"SOBAD{i:013d}", **changes}))

    proc = ws.run("music-dwh", "load", "sparkify")
    assert re.search(r"sparkify: checks \d+ passed, 0 failed", proc.stdout), proc.stdout

    # Each absurd record is quarantined with its reason, at its line …
    events = query(
        ws.warehouse,
        "select line_number, reason from sparkify.quarantine "
        "where target_table = 'staging_events' order by line_number",
    )
    assert [n for n, _ in events] == list(range(first, first + len(absurd)))
    for (_, reason), (_, expected) in zip(events, absurd, strict=True):
        assert reason.startswith(expected), reason
    songs = query(
        ws.warehouse,
        "select source_file, reason from sparkify.quarantine where target_table = "
        "'staging_songs' and source_file like '%/Z/Z/Z/%' order by source_file",
    )
    assert [(f.rsplit("/", 1)[1], r.split(" (accepted")[0]) for f, r in songs] == [
        (f"{name}.json", expected) for name, (_, expected) in bad_songs.items()
    ]
    # … the day reconciles: every raw line is staged or quarantined …
    raw_lines = sum(1 for ln in log.read_text().splitlines() if ln.strip())
    staged = query(
        ws.warehouse,
        "select count(*) from sparkify.staging_events where partition_date = '2018-11-01'",
    )
    assert staged[0][0] + len(events) == raw_lines
    assert query(ws.warehouse, "select max(length) from sparkify.staging_events")[0][0] <= 86_400
    # … and the marts and the report were built from the rest.
    sessions, longest = query(
        ws.warehouse, "select count(*), max(minutes) from sparkify.session_lengths"
    )[0]
    assert sessions > 0 and 0 < longest < 24 * 60
    assert query(ws.warehouse, "select count(*) from sparkify.session_length_by_level")[0][0] > 0
    report = ws.root / "reports" / "sparkify.html"
    assert report.is_file() and "Sparkify" in report.read_text(encoding="utf-8")


def test_absurd_chinook_values_are_quarantined_and_sales_at_the_limits_fit_the_marts(workspace):
    """A day of 10,001 of the largest invoices staging accepts (999.99 x 1,000 each) is over
    10^10 in revenue: more than the marts' former DECIMAL(12,2) holds; beside them, absurd
    rows wait in quarantine."""
    ws = workspace
    ws.run(
        "music-dwh",
        "generate",
        "chinook",
        "--start",
        "2021-01-01",
        "--days",
        "3",
        "--customers",
        "10",
        "--invoices-per-day",
        "3",
        "--out",
        str(ws.raw),
    )
    day = ws.raw / "chinook" / "invoices" / "2021" / "01" / "04"
    day.mkdir(parents=True)
    big = 10_001
    invoices = [
        "invoice_id,customer_id,invoice_date,billing_address,billing_city,billing_state,"
        + "billing_country,billing_postal_code,total"
    ]
    invoices += [
        f"{100_000 + i},1,2021-01-04 00:00:00,Street 1,City,,Country,12345,999990.00"
        for i in range(big)
    ]
    invoices += [
        "900001,1,2021-01-04 00:00:00,Street 1,City,,Country,12345,1e30",
        "900002,1,9999-01-04 00:00:00,Street 1,City,,Country,12345,0.99",
    ]
    lines = ["invoice_line_id,invoice_id,track_id,unit_price,quantity"]
    lines += [f"{100_000 + i},{100_000 + i},1,999.99,1000" for i in range(big)]
    lines += [
        "900001,900001,1,1e30,1",
        "900002,900001,1,0.99,0",
        "900003,900002,99999999999,0.99,1",
    ]
    (day / "invoice.csv").write_text("\n".join(invoices) + "\n")
    (day / "invoice_line.csv").write_text("\n".join(lines) + "\n")

    proc = ws.run("music-dwh", "load", "chinook")
    # Sales this large are unusual, not impossible: the warn-level distribution suites say so;
    # no blocking check fails.
    assert re.search(r"chinook: checks \d+ passed, \d+ failed", proc.stdout), proc.stdout
    assert "staging_invoice_distribution" in proc.stdout and "  error:" not in proc.stdout, (
        proc.stdout
    )

    quarantined = query(
        ws.warehouse,
        "select target_table, line_number, reason from chinook.quarantine "
        "where partition_date = '2021-01-04' order by 1, 2",
    )
    assert [(t, n, r.split(" (accepted")[0]) for t, n, r in quarantined] == [
        ("staging_invoice", big + 2, "column 'total': 1e30 is out of range"),
        ("staging_invoice", big + 3, "column 'invoice_date': 9999-01-04 00:00:00 is out of range"),
        ("staging_invoice_line", big + 2, "column 'unit_price': 1e30 is out of range"),
        ("staging_invoice_line", big + 3, "column 'quantity': 0 is out of range"),
        ("staging_invoice_line", big + 4, "column 'track_id': 99999999999 is out of range"),
    ]
    staged = query(
        ws.warehouse,
        "select (select count(*) from chinook.staging_invoice where partition_date = '2021-01-04'),"
        " (select count(*) from chinook.staging_invoice_line where partition_date = '2021-01-04')",
    )
    assert staged == [(big, big)]  # the day reconciles: 10,003 raw invoices, 10,004 raw lines

    revenue = Decimal("999990.00") * big
    assert revenue > Decimal("9999999999.99")  # beyond DECIMAL(12,2)
    assert query(
        ws.warehouse,
        "select revenue, invoices from chinook.sales_daily where date_day = '2021-01-04'",
    ) == [(revenue, big)]
    top = query(ws.warehouse, "select revenue, units from chinook.top_tracks where track_id = 1")[0]
    assert top[0] >= revenue and top[1] >= 1000 * big
    lifetime = query(
        ws.warehouse, "select lifetime_value from chinook.customer_segments where customer_id = 1"
    )[0][0]
    assert lifetime >= revenue
    assert (
        query(ws.warehouse, "select max(revenue_share) from chinook.employee_performance")[0][0]
        <= 1
    )
    report = ws.root / "reports" / "chinook.html"
    assert report.is_file() and "Chinook" in report.read_text(encoding="utf-8")
