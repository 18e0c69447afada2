"""Batches of events written in one go, by both of music_dwh's storages (``sqlite_storage``,
``postgres_storage``).

Dagster buffers the events it marks as a batch (the per-day materializations of one output, the
planned events of a run) when ``DAGSTER_EVENT_BATCH_SIZE`` is positive (off by default). The
instance turns it on with :data:`EVENT_BATCH_SIZE`; an explicit ``DAGSTER_EVENT_BATCH_SIZE``
wins (``0`` turns batching off). A batch is then one compiled INSERT for all its events, and
the index rows Dagster would write event by event are written in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dagster import (
    DagsterEventType,
    DagsterInvariantViolationError,
    EventLogEntry,
    serialize_value,
)
from sqlalchemy.engine import Connection

from music_dwh.framework import (
    ASSET_EVENTS,
    AssetCheckExecutionRecordStatus,
    AssetCheckExecutionsTable,
    SqlEventLogStorageTable,
)

# Events per batch write. A range run's output yields one materialization per day (1,817 for
# the public Chinook history) and the run plans one per day and asset: a few transactions per
# asset instead of thousands. Kept moderate so one batch stays a few MB of JSON.
EVENT_BATCH_SIZE = 1000
# Dagster marks these as batch-writable; the storages write such batches in one go.
BATCHED = {
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_OBSERVATION,
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
}


def insert_returning_ids():
    """One INSERT of a batch's event rows into the event_logs table, returning their ids in
    the rows' order."""
    return SqlEventLogStorageTable.insert().returning(
        SqlEventLogStorageTable.c.id, sort_by_parameter_order=True
    )


def _check_planned_rows(storage: Any, event: EventLogEntry, event_id: int | None) -> list[dict]:
    """The asset_check_executions rows Dagster writes for a planned check: one per day of a
    range run (1,817 for the public Chinook history).

    Dagster copies the serialized planned event (≈1.5 KB, it holds the run's whole range) into
    every row: 20 MB for that history. Here only the last row holds it, the one Dagster reads
    as the check's latest execution; the other days' rows have none, as Dagster's own rows
    from before it stored planned events (the UI then shows the row's status and run, read
    from its columns), and point to the event by ``evaluation_event_storage_id``."""
    planned = event.get_dagster_event().event_specific_data
    keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
    row = dict(
        asset_key=planned.asset_key.to_string(),
        check_name=planned.check_name,
        run_id=event.run_id,
        execution_status=AssetCheckExecutionRecordStatus.PLANNED.value,
        evaluation_event=None,
        evaluation_event_timestamp=storage._event_insert_timestamp(event),
        evaluation_event_storage_id=event_id,
    )
    rows = [{**row, "partition": key} for key in keys]
    rows[-1]["evaluation_event"] = serialize_value(event)
    return rows


class CheapCheckPlans:
    """Dagster serializes a planned check's event and compiles its INSERT once per day of the
    range; this does both once per check, and writes the planned checks of a batch in the
    batch's transaction."""

    def _store_asset_check_evaluation_planned(
        self, event: EventLogEntry, event_id: int | None
    ) -> None:
        with self.index_connection() as conn:
            conn.execute(
                AssetCheckExecutionsTable.insert(), _check_planned_rows(self, event, event_id)
            )

    def _store_batch_index_rows(
        self, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int | None]
    ) -> None:
        """In the index transaction: what store_event adds for asset and planned check events."""
        _store_asset_rows(self, conn, events, event_ids)
        rows = [
            row
            for event, event_id in zip(events, event_ids, strict=True)
            if event.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
            for row in _check_planned_rows(self, event, event_id)
        ]
        if rows:
            if not self.supports_asset_checks:
                raise DagsterInvariantViolationError(
                    "Asset checks require a database schema migration. Run `dagster instance migrate`."
                )
            conn.execute(AssetCheckExecutionsTable.insert(), rows)


def batchable(events: Sequence[EventLogEntry]) -> bool:
    return (
        bool(events)
        and len({e.run_id for e in events}) == 1
        and all(e.is_dagster_event and e.dagster_event_type in BATCHED for e in events)
    )


def _store_asset_rows(
    storage: Any, conn: Connection, events: Sequence[EventLogEntry], event_ids: Sequence[int | None]
) -> None:
    """The index rows ``store_event`` writes for asset events: their indexed tags, and the
    asset's row (latest materialization, run, timestamp). That row ends as the last event of
    each asset and kind leaves it, so only those are applied, in order."""
    asset = [
        (e, i)
        for e, i in zip(events, event_ids, strict=True)
        if e.dagster_event_type in ASSET_EVENTS and e.dagster_event and e.dagster_event.asset_key
    ]
    if not asset:
        return
    if any(i is None for _, i in asset):
        raise DagsterInvariantViolationError("Cannot store asset event tags for null event id.")
    storage._store_asset_event_tags(conn, [e for e, _ in asset], [i for _, i in asset])
    last: dict[tuple[str, str], int] = {}
    for position, (event, _) in enumerate(asset):
        last[(event.dagster_event.asset_key.to_string(), event.dagster_event_type.value)] = position
    for position in sorted(last.values()):
        event, event_id = asset[position]
        storage._store_asset_event(conn, event, event_id)
