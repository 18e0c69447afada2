"""Why a run failed, in the words of whoever raised it: the user's exception inside Dagster's
wrappers ("Error occurred while executing op …", "Error executing resource_fn …"), without
class names, or the failed blocking check with its description.

Read from a run's events (``DagsterEvent``), so ``music-dwh load`` (after its run) and the
alert sensors (from the instance) tell the same reason. Importing this module imports nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


def user_error(error):
    """The first error of ``error``'s chain of causes that Dagster did not raise itself: the
    user's exception. Its own causes stay out (``LockTimeout`` says more than the driver's
    ``IOException`` it was raised from)."""
    while error.cause is not None and _qualified_name(error).startswith("dagster."):
        error = error.cause
    return error


def _qualified_name(error) -> str:
    """``pkg.module.Class`` as the message starts with it, or the bare class name."""
    head = error.message.split(":", 1)[0].strip()
    return head if head.endswith(error.cls_name) and " " not in head else error.cls_name


def error_text(error) -> str:
    """The error's message without its class name when that is a module's (music_dwh's,
    Dagster's, a driver's), which says nothing to a user; Python's own names stay (the text
    of a ``KeyError`` is only the key)."""
    text = error.message.strip()
    name = _qualified_name(error)
    if "." in name and text.startswith(name):
        text = text[len(name) :].lstrip(":").strip()
    return text or error.cls_name


@dataclass
class RunFailure:
    """Why a run failed (first line the gist, the next what to do, then details) and the
    failed checks that reason already reports."""

    reason: str
    checks: list = field(default_factory=list)


def failure_of(events: Iterable) -> RunFailure:
    """The reason a finished run failed, from its events: the first failed step's error (for a
    failed blocking check, the check and its description), else the run's own error (a
    resource that could not start)."""
    events = list(events)
    for event in events:
        if event.is_step_failure:
            return _step_failure(event, events)
    for event in events:
        if event.is_run_failure and event.job_failure_data.error is not None:
            return RunFailure(error_text(user_error(event.job_failure_data.error)))
    return RunFailure("the run failed without an error (see the run in the Dagster UI)")


def _step_failure(event, events: list) -> RunFailure:
    data = event.step_failure_data
    if data.user_failure_data is not None and data.user_failure_data.description:
        return RunFailure(data.user_failure_data.description.strip())  # our own Failure
    if data.error is None:
        return RunFailure(f"step {event.step_key} failed without an error")
    error = user_error(data.error)
    if error.cls_name == "DagsterAssetCheckFailedError":
        checks = [
            e.event_specific_data
            for e in events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"
            and e.step_key == event.step_key
            and _blocks(e.event_specific_data)
        ]
        if checks:
            return RunFailure("\n".join(check_failure_text(c) for c in checks), checks)
    return RunFailure(error_text(error))


def _blocks(evaluation) -> bool:
    return (
        not evaluation.passed
        and evaluation.blocking
        and evaluation.severity.value == "ERROR"  # AssetCheckSeverity.ERROR
    )


def check_failure_text(evaluation) -> str:
    what = "blocking check" if evaluation.blocking else "check"
    return f"{what} {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed" + (
        f": {evaluation.description}" if evaluation.description else ""
    )
