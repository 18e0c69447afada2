"""What every staging asset reports the same way: its quarantine books as metadata, and a
quarantine over the threshold as the step's failure."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from dagster import Failure, MetadataValue

from music_dwh.staging.common import QuarantineThresholdExceeded


@contextlib.contextmanager
def failing_over_threshold() -> Iterator[None]:
    """A load whose quarantine share is over ``MUSIC_DWH_QUARANTINE_THRESHOLD`` (rolled back by
    staging) fails the step with staging's message, which names every day left unstaged,
    without a Python traceback."""
    try:
        yield
    except QuarantineThresholdExceeded as exc:
        # A data failure: no retry of the step would change it (resources/retries.py).
        raise Failure(description=str(exc), allow_retries=False) from None


def quarantine_metadata(records: int, quarantined: int) -> dict[str, Any]:
    """Raw records, the quarantined ones and their share: the load's books in the UI."""
    rate = quarantined / records if records else 0.0
    return {
        "raw_records": records,
        "quarantined": quarantined,
        "quarantine_rate": MetadataValue.float(round(rate, 6)),
    }


def day_books(records: int, quarantined: int, files: int) -> dict[str, int]:
    """One day's own books, for that day's materialization: ``music-dwh load`` counts the
    quarantined records and the days without a file (``files`` 0) from them."""
    return {"raw_records": records, "quarantined": quarantined, "files": files}
