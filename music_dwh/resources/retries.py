"""Retries only where a retry can help.

A step is retried only when it failed for a cause that passes: the DuckDB file held by another
program past ``MUSIC_DWH_LOCK_TIMEOUT``, a warehouse server that refused the connection, was
starting up or dropped the connection mid-query. It is retried inside its run (Dagster's step
retries), after ``RETRY_DELAYS_SECONDS``: at most twice, then it fails as any step does.

Every other failure is final at once. A day over the quarantine threshold, a failed blocking
check, a failed dbt model or test, a wrong password or a drifted table would fail the same way
again: the shipped ``dagster.yaml`` does not re-run a run whose step failed
(``retry_on_asset_or_op_failure: false``). Dagster's run retries stay for runs that failed
outside any step: their process lost (run monitoring fails them) or the warehouse's writer lock
not obtained before the first step.

A run tagged ``dagster/max_retries=0`` (every ``music-dwh load`` run) is not retried at all.

The one place this is decided: ``Warehouse.session()``, the way every step reaches the
warehouse, wraps its connection and its block in :func:`retried_when_transient`.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

from music_dwh.resources.base import WarehouseUnavailable

# The pause before each retry of a step; as many retries as pauses. The step has already
# waited MUSIC_DWH_LOCK_TIMEOUT for a held file (or the connect timeout for a server): a short
# first pause, a longer second one for a server that restarts.
RETRY_DELAYS_SECONDS = (5, 30)


def is_transient(exc: BaseException) -> bool:
    """Whether a later attempt of the same work may succeed: the warehouse was unavailable
    (``WarehouseUnavailable``, ``LockTimeout``), or a PostgreSQL/Redshift connection was lost
    while in use (psycopg2's ``OperationalError``/``InterfaceError``, e.g. "server closed the
    connection unexpectedly")."""
    if isinstance(exc, WarehouseUnavailable):
        return True
    psycopg2 = sys.modules.get("psycopg2")  # loaded only where a server warehouse is used
    return psycopg2 is not None and isinstance(
        exc, psycopg2.OperationalError | psycopg2.InterfaceError
    )


def _current_step():
    """The step being executed in this thread, or None outside a step (resource setup, the
    CLI, a script)."""
    from dagster import DagsterInvariantViolationError, OpExecutionContext

    try:
        return OpExecutionContext.get()
    except DagsterInvariantViolationError:
        return None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextlib.contextmanager
def retried_when_transient() -> Iterator[None]:
    """In a step, turn a transient failure of the block into a retry of the step (Dagster's
    ``RetryRequested``) while retries are left; anything else, and anything outside a step,
    passes through unchanged."""
    try:
        yield
    except Exception as exc:
        if not is_transient(exc):
            raise
        step = _current_step()
        if step is None or step.retry_number >= len(RETRY_DELAYS_SECONDS):
            raise
        from music_dwh.framework import MAX_RETRIES_TAG

        if step.run.tags.get(MAX_RETRIES_TAG) == "0":
            # A run that asks for no retries (`music-dwh load`: someone is watching, and
            # MUSIC_DWH_LOCK_TIMEOUT is how long they agreed to wait) fails at once.
            raise
        from dagster import RetryRequested

        delay = RETRY_DELAYS_SECONDS[step.retry_number]
        step.log.warning(
            f"retrying the step in {delay} s (retry {step.retry_number + 1} of "
            f"{len(RETRY_DELAYS_SECONDS)}): {first_line(exc)}"
        )
        raise RetryRequested(max_retries=len(RETRY_DELAYS_SECONDS), seconds_to_wait=delay) from exc
