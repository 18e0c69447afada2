"""The report assets (music_dwh/assets/reports.py): HTML files and materialization metadata made
by a real `music-dwh load`, rendered in headless Chromium, and their figures checked against
the staging tables. The rendering kit's own tests are in music_dwh_tests/reports/test_kit.py;
the empty-marts test of Sparkify's report content stays here because it reads the session's
`loaded_systems` (one xdist unit, loaded once: see SHARED_UNITS in conftest.py)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import duckdb
import pytest

from music_dwh.reports import chinook, kit, sparkify
from music_dwh_tests.conftest import query

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SECTIONS = {
    "sparkify": [
        "Plays per day",
        "Top 10 songs",
        "Top 10 artists",
        "Peak listening times",
        "Free and paid plays",
        "Trending artists",
        "Session length by level",
        "Listeners by gender and level",
        "Listeners by state",
    ],
    "chinook": [
        "Revenue per month",
        "Top genres by revenue",
        "Revenue by country",
        "Support rep ranking",
        "Customer retention by cohort",
        "Customer segments",
    ],
}
CHARTS = 5  # per report
TITLES = {"sparkify": "Sparkify listening report", "chinook": "Chinook sales report"}


def _materialization(workspace, system: str):
    from dagster import AssetKey, DagsterInstance

    with DagsterInstance.from_config(str(workspace.dagster_home)) as instance:
        event = instance.get_latest_materialization_event(AssetKey([system, f"{system}_report"]))
    assert event is not None, f"{system}_report was not materialized"
    return event.asset_materialization


@pytest.mark.e2e
@pytest.mark.parametrize("system", ["sparkify", "chinook"])
def test_load_writes_a_self_contained_report_and_attaches_it(loaded_systems, system):
    workspace = getattr(loaded_systems, system)
    path = loaded_systems.report(system)
    page = path.read_text()
    assert page.count('<img src="data:image/png;base64,') == CHARTS
    assert not re.search(r"""(src|href)=["']?(https?:|//|file:)""", page), (
        "report must not load anything"
    )
    assert "<script" not in page
    assert not list(path.parent.glob(".*.tmp")), "temporary files left behind"

    materialization = _materialization(workspace, system)
    metadata = materialization.metadata
    assert metadata["report_path"].value == str(path)
    assert metadata["charts"].value == CHARTS
    markdown = metadata["report"].value
    assert markdown.count("](data:image/png;base64,") == CHARTS
    for heading in SECTIONS[system]:
        assert f"\n## {heading}\n" in markdown


@pytest.mark.e2e
def test_sparkify_key_figures_match_the_staged_events(loaded_systems):
    ws = loaded_systems.sparkify
    metadata = _materialization(ws, "sparkify").metadata
    plays, listeners = query(
        ws.warehouse,
        """
        select count(*), count(distinct userid) from sparkify.staging_events
        where page = 'NextSong'""",
    )[0]
    sessions = query(
        ws.warehouse,
        """
        select count(*) from (select distinct userid, sessionid from sparkify.staging_events
                              where userid is not null)""",
    )[0][0]
    assert metadata["plays"].value == plays > 1000
    assert metadata["listeners"].value == listeners
    assert metadata["sessions"].value == sessions
    matched = query(ws.warehouse, "select count(song_id) from sparkify.songplays")[0][0]
    assert metadata["matched_share"].value == pytest.approx(matched / plays, abs=1e-4)
    changes = query(
        ws.warehouse,
        """
        select
            sum(case when previous = 'free' and level = 'paid' then 1 else 0 end),
            sum(case when previous = 'paid' and level = 'free' then 1 else 0 end)
        from (select level,
                     lag(level) over (partition by userid order by ts, sessionid, iteminsession)
                         as previous
              from sparkify.staging_events where userid is not null)
        where previous <> level""",
    )[0]
    assert (metadata["upgrades"].value, metadata["downgrades"].value) == changes


@pytest.mark.e2e
def test_chinook_key_figures_match_the_staged_invoices(loaded_systems):
    ws = loaded_systems.chinook
    metadata = _materialization(ws, "chinook").metadata
    invoices, revenue, customers = query(
        ws.warehouse,
        """
        select count(*), sum(total), count(distinct customer_id) from chinook.staging_invoice""",
    )[0]
    assert metadata["invoices"].value == invoices > 50
    assert metadata["revenue"].value == pytest.approx(float(revenue), abs=0.005)
    assert metadata["customers"].value == customers
    assert metadata["average_order_value"].value == pytest.approx(
        float(revenue) / invoices, abs=0.005
    )


@pytest.mark.e2e
def test_reports_render_in_headless_chromium(loaded_systems, tmp_path):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: install Debian's browser with `apt-get install -y chromium`"
        )
    from playwright.sync_api import sync_playwright

    expected_plays_top = query(
        loaded_systems.sparkify.warehouse,
        """
        select artist_name, plays from sparkify.trending_artists
        where trend_rank = 1 and week_start = date '2018-11-05'""",
    )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 900})
            requests: list[str] = []
            page.on("request", lambda request: requests.append(request.url))
            for system in ("sparkify", "chinook"):
                page.goto(loaded_systems.report(system).as_uri(), wait_until="load")
                images = page.eval_on_selector_all(
                    "img",
                    "imgs => imgs.map(i => "
                    "({w: i.naturalWidth, h: i.naturalHeight, ok: i.complete}))",
                )
                assert len(images) == CHARTS
                assert all(i["ok"] and i["w"] > 0 and i["h"] > 0 for i in images), images
                assert page.inner_text("h1") == TITLES[system]
                assert (
                    page.eval_on_selector_all("h2", "hs => hs.map(h => h.textContent)")
                    == SECTIONS[system]
                )
                page.screenshot(path=str(tmp_path / f"{system}.png"), full_page=True)
                assert (tmp_path / f"{system}.png").stat().st_size > 50_000
                if system == "sparkify":
                    rows = page.locator("section:has(h2:text-is('Trending artists')) tbody tr")
                    assert 0 < rows.count() <= 10
                    first = rows.first.locator("td").all_inner_texts()
                    assert first[:3] == [
                        "1",
                        expected_plays_top[0][0],
                        str(expected_plays_top[0][1]),
                    ]
                    assert first[4].startswith("+") and first[4].endswith("%")
            assert all(url.startswith(("file:", "data:")) for url in requests), requests
        finally:
            browser.close()


@pytest.mark.e2e
def test_empty_marts_give_a_report_without_charts(loaded_systems, tmp_path):
    from music_dwh.resources.duckdb import DuckDBSession

    copy = tmp_path / "empty.duckdb"
    shutil.copy(loaded_systems.sparkify.warehouse, copy)
    con = duckdb.connect(str(copy))
    for mart in sparkify.MARTS:
        con.execute(f"delete from sparkify.{mart}")
    con.close()
    session = DuckDBSession.open(copy)
    try:
        report = sparkify.build_report(session)
    finally:
        session.close()
    assert report.charts == 0
    assert [s.heading for s in report.sections] == SECTIONS["sparkify"]
    page = kit.render_html(report)
    assert page.count("No plays loaded yet.") == 5 and "<img" not in page
    assert report.figures[0].key == "plays" and report.figures[0].value == 0


@pytest.mark.e2e
def test_summary_prints_where_the_reports_are(loaded_systems):
    summary = loaded_systems.sparkify.run("music-dwh", "summary").stdout
    assert "Reports (open in a browser)" in summary
    assert str(loaded_systems.report("sparkify")) in summary


@pytest.mark.e2e
def test_report_assets_are_declared_downstream_of_the_marts():
    from dagster import AssetKey

    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    for system, marts in (("sparkify", sparkify.MARTS), ("chinook", chinook.MARTS)):
        node = graph.get(AssetKey([system, f"{system}_report"]))
        assert node.group_name == system
        assert node.tags["layer"] == "report" and node.tags["source_system"] == system
        assert node.partitions_def is None
        assert (
            node.backfill_policy is not None and node.backfill_policy.max_partitions_per_run is None
        )
        assert {AssetKey([system, mart]) for mart in marts} <= set(node.parent_keys)
        for mart in marts:  # every mart read is a real dbt model of the system
            assert graph.has(AssetKey([system, mart])), mart
        sql = "\n".join(p.read_text() for p in kit.ANALYSES_DIR.glob(f"report_{system}_*.sql"))
        read = set(re.findall(rf"\b{system}\.(\w+)", sql))
        assert read == set(marts), f"{system}: report queries read {sorted(read)}"
