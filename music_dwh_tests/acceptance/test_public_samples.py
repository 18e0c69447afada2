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
    proc = workspace.run(
        "music-dwh", "load", "sparkify", "--start", "2018-11-01", "--end", "2018-11-30"
    )
    # Every check of the run (expectation suites, reconciliation, bands, dbt tests) passes.
    assert re.search(r"sparkify: checks (\d+) passed, 0 failed", proc.stdout), proc.stdout
    assert int(re.search(r"checks (\d+) passed", proc.stdout).group(1)) >= 30
    counts = dict(
        query(
            workspace.warehouse,
            """
        select 'staging_events', count(*) from sparkify.staging_events union all
        select 'songplays', count(*) from sparkify.songplays union all
        select 'users', count(*) from sparkify.users union all
        select 'songs', count(*) from sparkify.songs union all
        select 'artists', count(*) from sparkify.artists union all
        select 'quarantine_events', count(*) from sparkify.quarantine where target_table = 'staging_events'""",
        )
    )
    assert counts == {
        "staging_events": 8056,
        "songplays": 6820,
        "users": 97,
        "songs": 71,
        "artists": 69,
        "quarantine_events": 0,
    }
    # The one documented real-data quarantine case: a song file holding its record twice.
    assert query(workspace.warehouse, "select source_file, reason from sparkify.quarantine") == [
        (
            "sparkify/song_data/A/A/A/TRAAAAW128F429D538.json",
            "exact duplicate of sparkify/song_data/A/A/A/TRAAAAW128F429D538.json line 1",
        )
    ]
    # Double-encoded names were repaired before matching.
    assert (
        query(
            workspace.warehouse,
            "select count(*) from sparkify.staging_events where artist like '%Ã%'",
        )[0][0]
        == 0
    )
    # The seeds' example queries run unchanged (unqualified names on the search path).
    import duckdb

    con = duckdb.connect(str(workspace.warehouse), read_only=True)
    con.execute("set search_path = 'sparkify'")
    top = con.execute(
        "SELECT s.title, COUNT(*) AS plays FROM songplays sp JOIN songs s ON sp.song_id = s.song_id "
        "GROUP BY s.title ORDER BY plays DESC LIMIT 5"
    ).fetchall()
    by_hour = con.execute(
        "SELECT t.hour, COUNT(*) FROM songplays sp JOIN time t ON sp.start_time = t.start_time "
        "GROUP BY t.hour ORDER BY 2 DESC"
    ).fetchall()
    con.close()
    assert top and top[0][1] >= 1
    assert sum(n for _, n in by_hour) == 6820


def test_public_sparkify_month_on_postgres_with_trust_and_no_password(workspace, request):
    """MUSIC_DWH_WAREHOUSE names a server that asks this client for no password (trust
    authentication) and no password is set anywhere: the month loads and every check passes."""
    import os
    import shutil
    import subprocess

    from music_dwh_tests.conftest import BIN, REPO_ROOT, without_passwords

    shutil.copytree(require_shared("sparkify"), workspace.raw / "sparkify")
    server = request.getfixturevalue(
        "postgres_trust_server"
    )  # after the skip when ../shared is absent
    database = server.create_database()
    env = without_passwords(
        {**workspace.env, "MUSIC_DWH_WAREHOUSE": server.url(database)}, workspace.root
    )
    assert not {"MUSIC_DWH_WAREHOUSE_PASSWORD", "PGPASSWORD"} & set(env) and not os.path.exists(
        env["PGPASSFILE"]
    )
    proc = subprocess.run(
        [
            str(BIN / "music-dwh"),
            "load",
            "sparkify",
            "--start",
            "2018-11-01",
            "--end",
            "2018-11-30",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert f"into postgres://postgres@127.0.0.1:{server.port}/{database}" in proc.stdout, (
        proc.stdout
    )
    assert re.search(r"sparkify: checks (\d+) passed, 0 failed", proc.stdout), proc.stdout
    assert int(re.search(r"checks (\d+) passed", proc.stdout).group(1)) >= 30
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            cur.execute("""
                select 'staging_events', count(*) from sparkify.staging_events union all
                select 'songplays', count(*) from sparkify.songplays union all
                select 'users', count(*) from sparkify.users union all
                select 'songs', count(*) from sparkify.songs union all
                select 'artists', count(*) from sparkify.artists union all
                select 'quarantine_events', count(*) from sparkify.quarantine
                 where target_table = 'staging_events'""")
            counts = dict(cur.fetchall())
    finally:
        con.close()
    assert counts == {
        "staging_events": 8056,
        "songplays": 6820,
        "users": 97,
        "songs": 71,
        "artists": 69,
        "quarantine_events": 0,
    }


def test_public_chinook_reconciles_with_the_source_database(workspace):
    """Export the public Chinook database, load every day, and compare with the database itself."""
    import sqlite3
    from decimal import Decimal

    db = require_shared("chinook", "Chinook_Sqlite.sqlite")
    workspace.run("music-dwh", "export-chinook", "--sqlite", str(db), "--out", str(workspace.raw))
    proc = workspace.run("music-dwh", "load", "chinook", timeout=1200)
    assert re.search(r"chinook: checks (\d+) passed, 0 failed", proc.stdout), proc.stdout

    src = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def source(sql: str) -> list[tuple]:
        # SQLite stores NUMERIC as binary floats: sum exact cents from the text of each amount.
        return src.execute(sql).fetchall()

    def cents(rows) -> dict:
        out: dict = {}
        for key, amount in rows:
            out[key] = out.get(key, Decimal("0")) + Decimal(str(amount)).quantize(Decimal("0.01"))
        return out

    invoices, lines = source(
        "select (select count(*) from Invoice), (select count(*) from InvoiceLine)"
    )[0]
    assert query(workspace.warehouse, "select count(*) from chinook.fact_invoice")[0][0] == invoices
    assert (
        query(workspace.warehouse, "select count(*) from chinook.fact_invoice_line")[0][0] == lines
    )

    total = sum(cents(source("select 1, Total from Invoice")).values())
    assert query(workspace.warehouse, "select sum(total) from chinook.fact_invoice")[0][0] == total
    assert (
        query(workspace.warehouse, "select sum(line_amount) from chinook.fact_invoice_line")[0][0]
        == total
    )

    by_year = cents(
        source("select cast(strftime('%Y', InvoiceDate) as integer), Total from Invoice")
    )
    assert (
        dict(query(workspace.warehouse, "select year, revenue from chinook.sales_yearly"))
        == by_year
    )

    by_country = cents(source("select BillingCountry, Total from Invoice"))
    assert (
        dict(
            query(
                workspace.warehouse,
                "select billing_country, sum(total) from chinook.fact_invoice group by 1",
            )
        )
        == by_country
    )

    by_genre = cents(
        source(
            "select g.Name, il.UnitPrice * il.Quantity from InvoiceLine il "
            "join Track t on t.TrackId = il.TrackId join Genre g on g.GenreId = t.GenreId"
        )
    )
    assert (
        dict(query(workspace.warehouse, "select genre_name, revenue from chinook.top_genres"))
        == by_genre
    )

    by_rep = cents(
        source(
            "select e.FirstName || ' ' || e.LastName, i.Total from Invoice i "
            "join Customer c on c.CustomerId = i.CustomerId join Employee e on e.EmployeeId = c.SupportRepId"
        )
    )
    assert (
        dict(
            query(
                workspace.warehouse, "select full_name, revenue from chinook.employee_performance"
            )
        )
        == by_rep
    )
    # Money stays exact: no floating-point column anywhere in the Chinook schema.
    assert (
        query(
            workspace.warehouse,
            "select count(*) from information_schema.columns where "
            "table_schema = 'chinook' and data_type in ('DOUBLE', 'FLOAT', 'REAL')",
        )[0][0]
        == 0
    )
