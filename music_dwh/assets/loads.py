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
    staging) fails the step with staging's message, without a Python traceback, and says how
    many other days its transaction rolled back (``exc.days_in_transaction``)."""
    try:
        yield
    except QuarantineThresholdExceeded as exc:
        others = exc.days_in_transaction - 1
        rolled_back = (
            f"\n{others:,} other day(s) of the run were rolled back with it (the same "
            "transaction): their previous rows are kept too."
            if others > 0
            else ""
        )
        # A data failure: no retry of the step would change it (runs/retries.py).
        raise Failure(description=f"{exc}{rolled_back}", allow_retries=False) from None


def quarantine_metadata(records: int, quarantined: int) -> dict[str, Any]:
    """Raw records, the quarantined ones and their share: the load's books in the UI."""
    rate = quarantined / records if records else 0.0
    return {
        "raw_records": records,
        "quarantined": quarantined,
        "quarantine_rate": MetadataValue.float(round(rate, 6)),
    }
