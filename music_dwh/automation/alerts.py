"""Alerts: a failed run, or a failed ERROR-severity check, posts a short JSON message.

The message goes to ``MUSIC_DWH_ALERT_WEBHOOK`` (any endpoint accepting a JSON POST: a chat
webhook, an incident tool) or, when that is unset, to the daemon's log. It names the system,
the step that failed and its asset(s), the partition, the check, the run and a link to the run
in the UI (``MUSIC_DWH_UI_URL``; ``music-dwh dev`` sets it to the address it serves, else
http://127.0.0.1:3000). The error is the first line of what the step raised, without Dagster's
class names. It never carries secrets: no run config, no environment, no webhook URL; error
text is cut to one short line, with any credential-looking part of a URL and the values of
secret variables masked.

Both sensors run by default under the daemon (``make dev``) and watch every run of the
instance, including ``music-dwh load`` runs. A post that fails raises, so the sensor retries the
same alert on its next tick instead of dropping it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping

from dagster import (
    AssetCheckSeverity,
    DagsterEventType,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusChangeRecordsFilter,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from music_dwh.automation.failures import user_error
from music_dwh.framework import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    WILL_RETRY_TAG,
)
from music_dwh.settings import get_settings

logger = logging.getLogger("music_dwh.alerts")

POST_TIMEOUT_SECONDS = 10
MAX_TEXT = 300
MAX_ASSETS = 10
RUNS_PER_TICK = 100
# Values never to send even if an error message happens to contain them.
SECRET_VARIABLES = (
    "MUSIC_DWH_WAREHOUSE_PASSWORD",
    "MUSIC_DWH_ALERT_WEBHOOK",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "PGPASSWORD",
    "DBT_ENV_SECRET_WAREHOUSE_PASSWORD",
)
_URL_CREDENTIALS = re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE)
_KEY_VALUE_SECRET = re.compile(
    r"\b(password|passwd|pwd|secret|token|api_key)(\s*[=:]\s*)(\S+)", re.IGNORECASE
)


class AlertError(RuntimeError):
    """The webhook did not accept an alert (it is retried on the sensor's next tick)."""


# ---------------------------------------------------------------------------- message
def redact(text: str | None) -> str | None:
    """One short line with credential-looking parts and secret variable values masked."""
    if text is None:
        return None
    line = " ".join(text.strip().split())
    for name in SECRET_VARIABLES:
        value = os.environ.get(name)
        if value and len(value) >= 4:
            line = line.replace(value, "***")
    line = _URL_CREDENTIALS.sub(r"\1***@", line)
    line = _KEY_VALUE_SECRET.sub(r"\1\2***", line)
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1] + "…"


def _root_cause(error) -> str:
    """The user's exception inside Dagster's wrappers ("Error occurred while executing op …")."""
    return user_error(error).message


# A module-qualified class name before the message: ``dagster._core.definitions.events.Failure: ``.
_QUALIFIED_CLASS = re.compile(r"^(?:[A-Za-z_]\w*\.)+[A-Za-z_]\w*: ")


def plain_error(error) -> str:
    """The first line of a failure's root cause in the user's words. A module-qualified class
    name in front (Dagster's ``Failure``, music_dwh's and the drivers' errors, whose messages
    are sentences) is dropped; a built-in one (``KeyError: 'day'``) says what went wrong and
    stays."""
    text = _QUALIFIED_CLASS.sub("", _root_cause(error).strip(), count=1)
    return text.splitlines()[0] if text else ""


def run_link(run_id: str) -> str:
    return f"{get_settings().ui_url}/runs/{run_id}"


def partition_of(tags: Mapping[str, str]) -> str | None:
    """A run's partition (``2018-11-05``) or range (``2018-11-01...2018-11-30``), if any."""
    if tags.get(PARTITION_NAME_TAG):
        return tags[PARTITION_NAME_TAG]
    start, end = tags.get(ASSET_PARTITION_RANGE_START_TAG), tags.get(ASSET_PARTITION_RANGE_END_TAG)
    if start and end:
        return start if start == end else f"{start}...{end}"
    return None


def _system_of(assets: Iterable[str]) -> str | None:
    systems = {a.split("/", 1)[0] for a in assets}
    return systems.pop() if len(systems) == 1 else None


def post_alert(message: dict, log: logging.Logger | None = None) -> bool:
    """POST ``message`` to the webhook; log it instead when none is set. True when posted."""
    log = log or logger
    body = json.dumps(message, sort_keys=True)
    url = get_settings().alert_webhook
    if not url:
        log.warning(f"ALERT (MUSIC_DWH_ALERT_WEBHOOK is not set, so only logged): {body}")
        return False
    request = urllib.request.Request(
        url,
        data=body.encode(),
        headers={"Content-Type": "application/json", "User-Agent": "music_dwh-alerts"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:
            response.read()
    except (urllib.error.URLError, OSError) as exc:
        # Neither the URL nor the body: the URL may hold a token. The reason is enough.
        reason = getattr(exc, "reason", None) or getattr(exc, "code", None) or type(exc).__name__
        raise AlertError(
            f"the alert webhook (MUSIC_DWH_ALERT_WEBHOOK) refused the alert: {reason}"
        ) from None
    log.info(f"alert posted: {message['summary']}")
    return True


# ---------------------------------------------------------------------------- run failures
_PLANNED = (
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
)


def _assets(keys: Iterable[str]) -> str | None:
    keys = sorted(keys)
    if not keys:
        return None
    more = f" (+{len(keys) - MAX_ASSETS} more)" if len(keys) > MAX_ASSETS else ""
    return ", ".join(keys[:MAX_ASSETS]) + more


def run_failure_message(context: RunFailureSensorContext) -> dict:
    run = context.dagster_run
    instance = context.instance
    # Each step's assets (and the assets of its checks), from the run's planned events; the
    # assets the run meant to update but did not.
    by_step: dict[str, set[str]] = defaultdict(set)
    planned: set[str] = set()
    done: set[str] = set()
    for entry in instance.all_logs(
        run.run_id, of_type={*_PLANNED, DagsterEventType.ASSET_MATERIALIZATION}
    ):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            key = event.event_specific_data.asset_key
        else:
            key = event.asset_key
        if key is None:
            continue
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION:
            done.add(key.to_user_string())
            continue
        by_step[entry.step_key or ""].add(key.to_user_string())
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned.add(key.to_user_string())
    steps = context.get_step_failure_events()
    failed_steps = [e.step_key for e in steps]
    if failed_steps:
        # What failed: the failed steps' own assets, not everything downstream of them.
        assets = {a for step in failed_steps for a in by_step.get(step, ())}
    else:
        # Failed outside any step (its process lost, the warehouse not obtained): what the
        # failure left stale.
        assets = (planned - done) or {k.to_user_string() for k in (run.asset_selection or [])}
    error = None
    if steps and steps[0].step_failure_data and steps[0].step_failure_data.error:
        error = plain_error(steps[0].step_failure_data.error)
    else:
        failure = context.failure_event.event_specific_data
        if getattr(failure, "error", None) is not None:
            error = plain_error(failure.error)
        elif context.failure_event.message:
            error = context.failure_event.message
    partition = partition_of(run.tags)
    system = _system_of(assets)
    summary = (
        f"{system or run.job_name} run failed"
        + (f" in step {failed_steps[0]}" if failed_steps else "")
        + (f" for {partition}" if partition else "")
    )
    return {
        "source": "music_dwh",
        "kind": "run_failure",
        "summary": summary,
        "system": system,
        "job": run.job_name,
        "asset": _assets(assets),
        "partition": partition,
        "check": None,
        "failed_steps": failed_steps[:MAX_ASSETS],
        "error": redact(error),
        "run_id": run.run_id,
        "link": run_link(run.run_id),
    }


def will_be_retried(run) -> bool:
    """Dagster's run retries (``run_retries`` in dagster.yaml) will launch another attempt of
    this failed run: the daemon tags it ``dagster/will_retry=true``. A run without a code
    location behind it (``music-dwh load``) is never retried by the daemon, whatever its tag
    says."""
    return run.tags.get(WILL_RETRY_TAG) == "true" and run.remote_job_origin is not None


@run_failure_sensor(
    name="alert_on_run_failure",
    monitor_all_code_locations=True,  # also `music-dwh load` runs, which have no code location
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=get_settings().sensor_interval_seconds,
    description="Posts a short JSON alert (MUSIC_DWH_ALERT_WEBHOOK, else the log) for every run "
    "that failed for good: an attempt that Dagster's run retries will repeat is not news; the "
    "last attempt alerts.",
)
def run_failure_alert_sensor(context: RunFailureSensorContext) -> None:
    run = context.instance.get_run_by_id(context.dagster_run.run_id) or context.dagster_run
    if will_be_retried(run):
        context.log.info(f"run {run.run_id} failed and will be retried: no alert for this attempt")
        return
    post_alert(run_failure_message(context), context.log)


# ---------------------------------------------------------------------------- check failures
def check_failure_message(evaluation, run_id: str, run_tags: Mapping[str, str]) -> dict:
    asset = evaluation.asset_key.to_user_string()
    partition = evaluation.partition or partition_of(run_tags)
    summary = f"check {evaluation.check_name} failed on {asset}" + (
        f" for {partition}" if partition else ""
    )
    return {
        "source": "music_dwh",
        "kind": "check_failure",
        "summary": summary,
        "system": asset.split("/", 1)[0],
        "asset": asset,
        "partition": partition,
        "check": evaluation.check_name,
        "severity": evaluation.severity.value,
        "blocking": bool(evaluation.blocking),
        "description": redact(evaluation.description),
        "run_id": run_id,
        "link": run_link(run_id),
    }


FINISHED = (DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE)


def _latest_status_change_id(instance, event_type: DagsterEventType) -> int:
    result = instance.fetch_run_status_changes(event_type, limit=1, ascending=False)
    return result.records[0].storage_id if result.records else 0


@sensor(
    name="alert_on_check_failure",
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=get_settings().sensor_interval_seconds,
    description="Posts a short JSON alert for every asset check that fails with ERROR severity "
    "(blocking checks, dbt tests with severity error), once its run has finished. WARN "
    "failures are only shown in the UI.",
)
def check_failure_alert_sensor(context: SensorEvaluationContext):
    # Works run by run (a run's check evaluations once it succeeded or failed) because run
    # status changes can be paged by storage id on every instance storage, the default
    # run-sharded SQLite included; check evaluation events cannot.
    instance = context.instance
    state = json.loads(context.cursor) if context.cursor else None
    if state is None:
        # First tick: start from now; past failures are in the UI, not news.
        state = {t.value: _latest_status_change_id(instance, t) for t in FINISHED}
        context.update_cursor(json.dumps(state, sort_keys=True))
        return SkipReason("started: watching the check evaluations of runs that finish from now on")
    sent = runs = 0
    for event_type in FINISHED:
        result = instance.fetch_run_status_changes(
            RunStatusChangeRecordsFilter(
                event_type=event_type, after_storage_id=state[event_type.value]
            ),
            limit=RUNS_PER_TICK,
            ascending=True,
        )
        for record in result.records:
            run_id = record.event_log_entry.run_id
            run = instance.get_run_by_id(run_id)
            # An attempt that run retries will repeat: its retry's checks are the news.
            entries = (
                []
                if run is not None and will_be_retried(run)
                else instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
            )
            for entry in entries:
                evaluation = entry.dagster_event.event_specific_data
                if evaluation.passed or evaluation.severity != AssetCheckSeverity.ERROR:
                    continue
                try:
                    post_alert(
                        check_failure_message(evaluation, run_id, run.tags if run else {}),
                        context.log,
                    )
                except AlertError as exc:
                    if not sent:
                        raise  # the tick fails (visible in the UI); the same run is retried
                    context.log.error(f"{exc}; {sent} alert(s) sent, the rest is retried next tick")
                    return SkipReason(f"{sent} alert(s) sent, then: {exc}")
                sent += 1
            # Advance past a run only once all its alerts went out.
            state[event_type.value] = record.storage_id
            context.update_cursor(json.dumps(state, sort_keys=True))
            runs += 1
    if not sent:
        return SkipReason(f"{runs} finished run(s), no failed ERROR check")
    return None


sensors = [run_failure_alert_sensor, check_failure_alert_sensor]
