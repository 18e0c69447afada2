"""The web UI and the daemon, end to end: `dagster dev` on 127.0.0.1 against a temporary
instance, raw store and DuckDB file, driven by headless Chromium (Debian's /usr/bin/chromium
through Playwright; `make test` installs it).

One server is shared by the module: the UI test opens the asset catalog and the asset graph,
finds every asset and check of the project, and launches one partition of `sparkify_job` by
clicking through the same dialog as the README describes; the daemon test turns the Sparkify
log sensor on, drops a new day's file into the raw store and waits for that partition to be
materialized without anyone asking.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from music_dwh.cli.supervisor import stop_group
from music_dwh_tests.conftest import BIN, REPO_ROOT, Workspace, free_port

LOCATION = "music_dwh.definitions"
REPOSITORY = "__repository__"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
UI_DAY, SENSOR_DAY = "2018-11-01", "2018-11-02"


def test_every_asset_has_what_the_ui_shows():
    """Description, owners, source_system and layer tags, and a code version on every asset
    (dbt models get theirs from the model's checksum)."""
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = [k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable]
    assert len(keys) > 20
    for key in keys:
        node = graph.get(key)
        assert node.description, key
        assert node.owners, key
        assert node.tags.get("source_system") == key.path[0], key
        assert node.tags.get("layer"), key  # raw, staging, star, mart, report …
        assert node.code_version, key


# ---------------------------------------------------------------------------- server
@dataclass
class DevServer:
    ws: Workspace
    url: str
    proc: subprocess.Popen
    log: Path
    held_back: Path  # the Sparkify log file of SENSOR_DAY, dropped in by the daemon test
    shots: Path

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.loads(response.read())
        assert "errors" not in payload, payload["errors"]
        return payload["data"]

    def runs(self, tags: dict[str, str]) -> list[dict]:
        data = self.graphql(
            """query($filter: RunsFilter) { runsOrError(filter: $filter) { ... on Runs {
                 results { runId status startTime endTime tags { key value } } } } }""",
            {"filter": {"tags": [{"key": k, "value": v} for k, v in tags.items()]}},
        )
        return data["runsOrError"]["results"]

    def wait_for_success(self, tags: dict[str, str], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        runs: list[dict] = []
        while time.monotonic() < deadline:
            runs = self.runs(tags)
            if any(r["status"] == "SUCCESS" for r in runs):
                return next(r for r in runs if r["status"] == "SUCCESS")
            failed = [r for r in runs if r["status"] in ("FAILURE", "CANCELED")]
            assert not failed, f"run failed: {failed}\n{self.tail()}"
            time.sleep(2)
        raise AssertionError(
            f"no successful run with {tags} after {timeout} s: {runs}\n{self.tail()}"
        )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("dev")
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
        "2",
        "--events-per-day",
        "150",
        "--songs",
        "60",
        "--out",
        str(ws.raw),
    )
    ws.run("music-dwh", "prepare")
    # Hold the second day back: the daemon test delivers it.
    held_back = root / "incoming" / f"{SENSOR_DAY}-events.json"
    held_back.parent.mkdir()
    shutil.move(ws.raw / "sparkify/log_data/2018/11" / held_back.name, held_back)

    port = free_port()
    log = root / "dagster-dev.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "dagster"),
                "dev",
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=REPO_ROOT,
            env=ws.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group, ended as a whole
        )
    server = DevServer(ws, f"http://127.0.0.1:{port}", proc, log, held_back, root / "screenshots")
    server.shots.mkdir()
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if server.graphql("{ assetNodes { id } }")["assetNodes"]:
                    break
            except (OSError, AssertionError):
                pass
            assert proc.poll() is None, f"dagster dev exited:\n{server.tail()}"
            assert time.monotonic() < deadline, f"dagster dev did not answer:\n{server.tail()}"
            time.sleep(1)
        yield server
    finally:
        stop_group(proc, grace_seconds=30)  # dagster dev ignores a signal sent to it alone


@pytest.fixture(scope="module")
def expected():
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    assets = sorted(k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable)
    checks: dict = {}
    for check in graph.asset_check_keys:
        checks.setdefault(check.asset_key, set()).add(check.name)
    return assets, checks


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _page(browser, width: int, height: int):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.set_default_timeout(60_000)
    # Dagster greets a new browser with a newsletter dialog; dismiss it whenever it shows up.
    page.add_locator_handler(
        page.get_by_text("Join the Dagster community"),
        lambda: page.get_by_role("button", name="Skip").click(),
    )
    return page


# ---------------------------------------------------------------------------- UI
@pytest.mark.e2e
def test_the_ui_shows_every_asset_and_check_and_materializes_a_partition(
    dev_server, expected, browser
):
    assets, checks = expected
    server = dev_server

    # Asset catalog: every asset, as "system / name". A tall window renders every row.
    page = _page(browser, 1600, 9000)
    page.goto(f"{server.url}/assets", wait_until="networkidle")
    last = assets[-1]
    page.get_by_text(f"{last.path[0]} / {last.path[1]}").first.wait_for()
    catalog = page.inner_text("body")
    page.screenshot(
        path=str(server.shots / "catalog.png"), clip={"x": 0, "y": 0, "width": 1600, "height": 1400}
    )
    missing = [k.to_user_string() for k in assets if f"{k.path[0]} / {k.path[1]}" not in catalog]
    assert not missing, f"not in the asset catalog: {missing}"
    page.close()

    # Asset graph of each group: every asset is a node; a node with checks counts all of them.
    page = _page(browser, 4000, 9000)
    for group in ("sparkify", "chinook"):
        page.goto(
            f"{server.url}/locations/{LOCATION}/asset-groups/{group}", wait_until="networkidle"
        )
        page.get_by_text("Latest event").first.wait_for()
        page.wait_for_timeout(1000)
        text = page.inner_text("body")
        page.screenshot(path=str(server.shots / f"graph-{group}.png"))
        names = set(re.findall(r"\n([a-z0-9_]+)\nLatest event", text))
        in_group = {k.path[-1] for k in assets if k.path[0] == group}
        assert names == in_group, (
            f"{group} graph: missing {in_group - names}, extra {names - in_group}"
        )
        for name, total in re.findall(
            r"\n([a-z0-9_]+)\nLatest event\n[^\n]*\nAsset checks\n\d+ / (\d+)", text
        ):
            key = next(k for k in assets if k.path == [group, name])
            assert int(total) == len(checks.get(key, ())), f"{group}/{name}: {total} checks shown"
    page.close()

    # Each asset's checks, by name, as the UI's API serves them, and as the Checks tab of the
    # two assets with the most checks shows them.
    served = {
        tuple(n["assetKey"]["path"]): {c["name"] for c in n["assetChecksOrError"].get("checks", [])}
        for n in server.graphql("""{ assetNodes { assetKey { path }
                 assetChecksOrError { ... on AssetChecks { checks { name } } } } }""")["assetNodes"]
    }
    for key, names in checks.items():
        assert served.get(tuple(key.path)) == names, key
    page = _page(browser, 1600, 4000)
    for system in ("sparkify", "chinook"):
        key = max((k for k in checks if k.path[0] == system), key=lambda k: len(checks[k]))
        page.goto(f"{server.url}/assets/{'/'.join(key.path)}?view=checks", wait_until="networkidle")
        page.get_by_text(f"Checks ({len(checks[key])})").first.wait_for()
        shown = page.inner_text("body")
        assert all(name in shown for name in checks[key]), key
    page.close()

    # One partition from the UI: Jobs → sparkify_job → Materialize all… → the day → Launch.
    page = _page(browser, 1600, 1000)
    page.goto(f"{server.url}/locations/{LOCATION}/jobs/sparkify_job", wait_until="networkidle")
    page.get_by_role("button", name="Materialize all").click()
    # The dialog first offers the last 90 days (none, for 2018 data): ask for all of them.
    page.locator(
        'input[placeholder^="ex: "], input[placeholder="No matching partitions"]'
    ).first.wait_for()
    show_all = page.get_by_role("button", name="Show all partitions")
    if show_all.is_visible():
        show_all.click()
    partitions = page.locator('input[placeholder^="ex: "]')
    partitions.fill(UI_DAY)
    partitions.press("Enter")
    launch = page.get_by_role("button", name="Launch 1 run")
    launch.wait_for()
    page.screenshot(path=str(server.shots / "launch-dialog.png"))
    launch.click()
    run = server.wait_for_success({"dagster/partition": UI_DAY}, timeout=300)
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert "dagster/sensor_name" not in tags  # launched by the click, not by automation
    # The warehouse the run wrote, without credentials: one instance may see several.
    warehouse = f"duckdb:///{server.ws.warehouse}"
    assert tags["music_dwh/warehouse"] == warehouse

    # The run's page says so too, and shows that tag.
    page.goto(f"{server.url}/runs/{run['runId']}", wait_until="networkidle")
    page.get_by_text("Success").first.wait_for()
    page.get_by_text("View tags and config").click()
    page.get_by_text(warehouse, exact=False).first.wait_for(timeout=30_000)
    page.screenshot(path=str(server.shots / "run-tags.png"))
    page.keyboard.press("Escape")
    page.screenshot(path=str(server.shots / "run.png"))
    page.close()
    from music_dwh_tests.conftest import query

    day_rows = query(
        server.ws.warehouse,
        "select count(*) from sparkify.songplays where start_time::date = ?",
        [UI_DAY],
    )
    assert day_rows[0][0] > 0


# ---------------------------------------------------------------------------- daemon
@pytest.mark.e2e
def test_the_daemon_loads_a_newly_delivered_day_by_itself(dev_server):
    from dagster import build_sensor_context

    from music_dwh.automation.sensors import sparkify_log_sensor
    from music_dwh.definitions import defs
    from music_dwh.resources.raw_store import open_raw_store

    server = dev_server
    selector = {
        "repositoryLocationName": LOCATION,
        "repositoryName": REPOSITORY,
        "sensorName": "sparkify_log_sensor",
    }
    # Start from what is already in the store (as an operator would after `music-dwh load`):
    # the sensor's own evaluation of the current files gives that cursor.
    data = sparkify_log_sensor.evaluate_tick(
        build_sensor_context(
            repository_def=defs.get_repository_def(),
            resources={"raw_store": open_raw_store(str(server.ws.raw))},
        )
    )
    assert [r.partition_key for r in data.run_requests] == [UI_DAY]
    server.graphql(
        """mutation($s: SensorSelector!, $c: String) { setSensorCursor(sensorSelector: $s, cursor: $c) {
                        __typename } }""",
        {"s": selector, "c": data.cursor},
    )

    # The day lands (atomically, as a delivery would), the sensor is switched on (its first
    # tick comes at once), and nobody asks for anything.
    target = server.ws.raw / "sparkify/log_data/2018/11" / server.held_back.name
    tmp = target.with_name(".tmp-delivery")
    shutil.copy(server.held_back, tmp)
    os.replace(tmp, target)
    started = server.graphql(
        """mutation($s: SensorSelector!) { startSensor(sensorSelector: $s) {
                                  ... on Sensor { sensorState { status } } } }""",
        {"s": selector},
    )
    assert started["startSensor"]["sensorState"]["status"] == "RUNNING"

    run = server.wait_for_success({"dagster/partition": SENSOR_DAY}, timeout=300)
    assert {t["key"]: t["value"] for t in run["tags"]}[
        "dagster/sensor_name"
    ] == "sparkify_log_sensor"
    # One run, for that day only: the day already in the store was not requested again.
    assert [r["runId"] for r in server.runs({"dagster/sensor_name": "sparkify_log_sensor"})] == [
        run["runId"]
    ]
    logs = [
        server.log,
        *(p for p in server.ws.dagster_home.rglob("*") if p.is_file()),
    ]  # run logs too
    assert not [p for p in logs if b"Could not set lock" in p.read_bytes()]

    from music_dwh_tests.conftest import query

    staged = dict(
        query(
            server.ws.warehouse,
            "select partition_date::varchar, count(*) from sparkify.staging_events group by 1",
        )
    )
    assert all(staged.get(day, 0) > 0 for day in (UI_DAY, SENSOR_DAY)), staged
    plays = dict(
        query(
            server.ws.warehouse,
            "select start_time::date::varchar, count(*) from sparkify.songplays group by 1",
        )
    )
    assert all(plays.get(day, 0) > 0 for day in (UI_DAY, SENSOR_DAY)), plays
    # The day's materialization carries its row count and song match rate.
    from dagster import AssetKey, AssetRecordsFilter, DagsterInstance

    instance = DagsterInstance.from_config(str(server.ws.dagster_home))
    try:
        (record,) = instance.fetch_materializations(
            AssetRecordsFilter(
                asset_key=AssetKey(["sparkify", "songplays"]), asset_partitions=[SENSOR_DAY]
            ),
            limit=1,
        ).records
        metadata = record.asset_materialization.metadata
        assert 0 < metadata["song_match_rate"].value <= 1
        assert metadata["dagster/partition_row_count"].value == plays[SENSOR_DAY]
    finally:
        instance.dispose()
