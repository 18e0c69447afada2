"""Alert sensors against a real HTTP endpoint (http.server on 127.0.0.1 in a thread) and a real
Dagster instance: a failed run and a failed ERROR check each post one short JSON message with
the asset, partition, check, run id and a link; never a secret; nothing twice."""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    ConfigurableResource,
    DailyPartitionsDefinition,
    asset,
    asset_check,
    build_sensor_context,
    materialize,
)
from dagster._core.test_utils import instance_for_test

from music_dwh.assets.loads import failing_over_threshold
from music_dwh.automation import alerts
from music_dwh.resources.writer_lock import LockTimeout
from music_dwh.staging.common import LoadStats, QuarantineThresholdExceeded, Rejected

PASSWORD = "hunter2-Sup3rS3cret"
TOKEN = "T0KEN-abc123"
UI_URL = "https://dagster.example.org"


class Webhook:
    def __init__(self, status: int = 200):
        self.posts: list[dict] = []
        self.status = status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hook.posts.append(
                    {
                        "path": self.path,
                        "content_type": self.headers["Content-Type"],
                        "raw": body.decode(),
                        "json": json.loads(body),
                    }
                )
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{TOKEN}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch):
    hook = Webhook()
    monkeypatch.setenv("MUSIC_DWH_ALERT_WEBHOOK", hook.url)
    monkeypatch.setenv("MUSIC_DWH_UI_URL", UI_URL + "/")
    monkeypatch.setenv("MUSIC_DWH_WAREHOUSE_PASSWORD", PASSWORD)
    yield hook
    hook.close()


@pytest.fixture
def instance():
    with instance_for_test() as inst:
        yield inst


def assert_no_secret(post: dict) -> None:
    assert PASSWORD not in post["raw"]
    assert TOKEN not in post["raw"]  # the webhook URL itself is a secret


days = DailyPartitionsDefinition(start_date="2018-11-01")


@asset(key=["sparkify", "staging_events"], partitions_def=days)
def failing_staging_events():
    raise RuntimeError(
        f"could not connect to postgresql://etl:{PASSWORD}@db.internal:5432/dwh (password={PASSWORD})\n"
        + "stack detail " * 100
    )


@asset(key=["chinook", "fact_invoice"], partitions_def=days)
def fact_invoice():
    return None


@asset_check(asset=fact_invoice, name="totals_match_lines")
def totals_match_lines():
    return AssetCheckResult(
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description="3 invoices differ from the sum of their lines",
    )


@asset_check(asset=fact_invoice, name="row_count_band")
def row_count_band():
    return AssetCheckResult(passed=False, severity=AssetCheckSeverity.WARN, description="few rows")


@asset_check(asset=fact_invoice, name="not_null_invoice_id")
def not_null_invoice_id():
    return AssetCheckResult(passed=True)


THRESHOLD_LINE = (
    "staging_events for 2018-11-05: 40 of 90 raw records (44.4%) are bad, more than the 5% "
    "allowed (MUSIC_DWH_QUARANTINE_THRESHOLD); not staged, their previous rows kept: 2018-11-05."
)


@asset(key=["sparkify", "log_data"], partitions_def=days)
def log_data():
    return None


@asset(key=["sparkify", "staging_events"], deps=[log_data], partitions_def=days)
def staging_events_over_threshold():
    with failing_over_threshold():
        bad = Rejected("2018-11-05-events.json", 51, "{", "malformed JSON")
        raise QuarantineThresholdExceeded(
            LoadStats("staging_events", dt.date(2018, 11, 5), records=90, rejected=[bad] * 40), 0.05
        )


@asset(key=["sparkify", "songplays"], deps=[staging_events_over_threshold], partitions_def=days)
def songplays():
    return None


@asset(key=["sparkify", "users"], deps=[staging_events_over_threshold], partitions_def=days)
def users():
    return None


class HeldWarehouse(ConfigurableResource):
    """A warehouse whose writer lock is not obtained when the run sets it up: the run fails
    before its first step."""

    def setup_for_execution(self, context) -> None:
        raise LockTimeout("gave up after 600 s waiting for the warehouse /data/warehouse.duckdb")


@asset(key=["chinook", "staging_invoice"], partitions_def=days)
def staging_invoice(warehouse: HeldWarehouse):
    return None


def tick(sensor_def, instance, cursor):
    data = sensor_def.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
    return data.cursor


def test_a_failed_run_posts_one_alert_with_asset_partition_and_link(webhook, instance):
    cursor = tick(alerts.run_failure_alert_sensor, instance, None)  # starts watching now
    result = materialize(
        [failing_staging_events],
        partition_key="2018-11-05",
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    cursor = tick(alerts.run_failure_alert_sensor, instance, cursor)

    (post,) = webhook.posts
    message = post["json"]
    assert post["content_type"] == "application/json"
    assert message["kind"] == "run_failure"
    assert message["asset"] == "sparkify/staging_events"
    assert message["system"] == "sparkify"
    assert message["partition"] == "2018-11-05"
    assert message["run_id"] == result.run_id
    assert message["link"] == f"{UI_URL}/runs/{result.run_id}"
    assert message["error"].startswith(
        "RuntimeError: could not connect to postgresql://***@db.internal"
    )
    assert len(message["error"]) <= alerts.MAX_TEXT
    assert_no_secret(post)

    tick(alerts.run_failure_alert_sensor, instance, cursor)
    assert len(webhook.posts) == 1  # nothing twice


def test_an_alert_names_the_failed_step_its_asset_and_the_first_line_of_its_error(
    webhook, instance
):
    cursor = tick(alerts.run_failure_alert_sensor, instance, None)
    result = materialize(
        [log_data, staging_events_over_threshold, songplays, users],
        partition_key="2018-11-05",
        instance=instance,
        raise_on_error=False,
    )
    tick(alerts.run_failure_alert_sensor, instance, cursor)

    (post,) = webhook.posts
    message = post["json"]
    assert message["summary"] == (
        "sparkify run failed in step sparkify__staging_events for 2018-11-05"
    )
    assert message["failed_steps"] == ["sparkify__staging_events"]
    # The failed step's own asset, not the assets skipped downstream of it.
    assert message["asset"] == "sparkify/staging_events"
    assert message["error"] == THRESHOLD_LINE
    assert "dagster._" not in post["raw"] and "Failure" not in post["raw"]
    assert message["link"] == f"{UI_URL}/runs/{result.run_id}"


def test_a_run_that_failed_before_its_first_step_alerts_with_its_reason(webhook, instance):
    cursor = tick(alerts.run_failure_alert_sensor, instance, None)
    result = materialize(
        [staging_invoice],
        partition_key="2021-01-05",
        instance=instance,
        resources={"warehouse": HeldWarehouse()},
        raise_on_error=False,
    )
    tick(alerts.run_failure_alert_sensor, instance, cursor)

    (post,) = webhook.posts
    message = post["json"]
    assert message["summary"] == "chinook run failed for 2021-01-05"
    assert message["failed_steps"] == []
    assert message["asset"] == "chinook/staging_invoice"  # what the failure left stale
    assert message["error"] == (
        "gave up after 600 s waiting for the warehouse /data/warehouse.duckdb"
    )
    assert message["run_id"] == result.run_id


def test_a_failed_error_check_posts_one_alert_and_warnings_do_not(webhook, instance):
    cursor = tick(alerts.check_failure_alert_sensor, instance, None)  # starts watching now
    result = materialize(
        [fact_invoice, totals_match_lines, row_count_band, not_null_invoice_id],
        partition_key="2021-01-05",
        instance=instance,
        raise_on_error=False,
    )
    cursor = tick(alerts.check_failure_alert_sensor, instance, cursor)

    (post,) = webhook.posts
    message = post["json"]
    assert message["kind"] == "check_failure"
    assert message["asset"] == "chinook/fact_invoice"
    assert message["check"] == "totals_match_lines"
    assert message["severity"] == "ERROR"
    assert message["partition"] == "2021-01-05"
    assert message["run_id"] == result.run_id
    assert message["link"] == f"{UI_URL}/runs/{result.run_id}"
    assert "3 invoices differ" in message["description"]
    assert_no_secret(post)

    tick(alerts.check_failure_alert_sensor, instance, cursor)
    assert len(webhook.posts) == 1  # nothing twice


def test_check_alerts_start_from_now_not_from_history(webhook, instance):
    materialize(
        [fact_invoice, totals_match_lines],
        partition_key="2021-01-05",
        instance=instance,
        raise_on_error=False,
    )
    cursor = tick(alerts.check_failure_alert_sensor, instance, None)
    tick(alerts.check_failure_alert_sensor, instance, cursor)
    assert webhook.posts == []


def test_a_refused_alert_is_retried_on_the_next_tick(webhook, instance):
    cursor = tick(alerts.check_failure_alert_sensor, instance, None)
    materialize(
        [fact_invoice, totals_match_lines],
        partition_key="2021-01-06",
        instance=instance,
        raise_on_error=False,
    )
    webhook.status = 500
    with pytest.raises(Exception, match="refused the alert") as info:
        tick(alerts.check_failure_alert_sensor, instance, cursor)
    assert TOKEN not in str(info.value)
    webhook.status = 200
    tick(alerts.check_failure_alert_sensor, instance, cursor)  # the cursor did not move on
    assert [p["json"]["check"] for p in webhook.posts] == ["totals_match_lines"] * 2


def test_without_a_webhook_the_alert_is_logged(monkeypatch, caplog):
    monkeypatch.delenv("MUSIC_DWH_ALERT_WEBHOOK", raising=False)
    message = {
        "kind": "run_failure",
        "summary": "sparkify run failed for 2018-11-05",
        "run_id": "r1",
    }
    with caplog.at_level(logging.WARNING, logger="music_dwh.alerts"):
        assert alerts.post_alert(message) is False
    assert "MUSIC_DWH_ALERT_WEBHOOK is not set" in caplog.text
    assert '"run_id": "r1"' in caplog.text


def test_redact_masks_credentials_and_keeps_one_short_line(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG")
    text = "boto: key wJalrXUtnFEMI/K7MDENG rejected\nredshift://admin:pw@host/dev token=abc"
    assert alerts.redact(text) == "boto: key *** rejected redshift://***@host/dev token=***"


def test_with_run_retries_a_run_nobody_can_retry_still_alerts_once(webhook):
    """Run retries on (as in the shipped dagster.yaml): Dagster tags every failed run
    ``dagster/will_retry=true``, but a run without a code location (``music-dwh load``, or this
    in-process run) is never re-executed by the daemon, so its failure is news now."""
    with instance_for_test(
        overrides={"run_retries": {"enabled": True, "max_retries": 2}}
    ) as instance:
        cursor = tick(alerts.run_failure_alert_sensor, instance, None)
        result = materialize(
            [failing_staging_events],
            partition_key="2018-11-05",
            instance=instance,
            raise_on_error=False,
        )
        run = instance.get_run_by_id(result.run_id)
        assert run.tags.get("dagster/will_retry") == "true" and run.remote_job_origin is None
        assert not alerts.will_be_retried(run)
        cursor = tick(alerts.run_failure_alert_sensor, instance, cursor)
        tick(alerts.run_failure_alert_sensor, instance, cursor)
    assert [p["json"]["run_id"] for p in webhook.posts] == [result.run_id]
