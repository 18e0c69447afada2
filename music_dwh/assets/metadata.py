"""Materialization metadata that analysts read at a glance: counts, schema and a preview."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from dagster import MetadataValue, TableColumn, TableSchema

from music_dwh.markdown import markdown_table
from music_dwh.resources.base import Span, WarehouseSession

PREVIEW_ROWS = 5
# A single run over a range records one materialization per day, each with a copy of the
# metadata; past a month of days, the schema and preview tables are left out (they would be
# copied thousands of times into the instance for a multi-year backfill).
FULL_METADATA_MAX_DAYS = 31
# Each log line of a run is an event in the Dagster instance, stored on its own: a range run
# logs a progress line for every day up to this many days, past it about this many lines.
DAY_LOG_LINES = 31


def log_this_day(i: int, total: int) -> bool:
    """Whether the i-th (1-based) of ``total`` days of a range run gets its own progress line:
    every day of a short range, else about ``DAY_LOG_LINES`` evenly spaced ones and the last."""
    if total <= DAY_LOG_LINES or i == total:
        return True
    return i % -(-total // DAY_LOG_LINES) == 0


def days_in_window(start: dt.datetime, end: dt.datetime) -> list[dt.date]:
    """The days of a partition time window [start, end)."""
    first, last = start.date(), end.date()
    return [first + dt.timedelta(days=i) for i in range((last - first).days)]


def table_metadata(
    session: WarehouseSession,
    table: str,
    *,
    span: Span | None = None,
    preview_order: str | None = None,
    range_days: int = 1,
) -> dict[str, Any]:
    """Row count (whole table and, for partitioned assets, the window), schema and preview."""
    total = session.count_rows(table)
    partition_rows = session.count_rows(table, span=span) if span else None
    if range_days > FULL_METADATA_MAX_DAYS:
        metadata = {
            "dagster/row_count": MetadataValue.int(int(total)),
            "dagster/table_name": MetadataValue.text(table),
        }
        if partition_rows is not None:
            metadata["dagster/partition_row_count"] = MetadataValue.int(int(partition_rows))
        return metadata
    columns = session.columns(table)
    preview: pa.Table = session.preview(table, span, preview_order, PREVIEW_ROWS)
    # Dagster's standard table keys: the UI shows them in the asset's overview.
    metadata: dict[str, Any] = {
        "dagster/row_count": MetadataValue.int(int(total)),
        "dagster/column_schema": MetadataValue.table_schema(
            TableSchema(columns=[TableColumn(name, str(kind).lower()) for name, kind in columns])
        ),
        "dagster/table_name": MetadataValue.text(table),
    }
    if partition_rows is not None:
        metadata["dagster/partition_row_count"] = MetadataValue.int(int(partition_rows))
    rows = [list(row.values()) for row in preview.to_pylist()]
    metadata["preview"] = MetadataValue.md(markdown_table(preview.column_names, rows))
    return metadata


def per_day_markdown(rows: Mapping[dt.date, Mapping[str, Any]]) -> MetadataValue | None:
    """A small day-by-day table for range runs of up to ``FULL_METADATA_MAX_DAYS`` days, else
    None: Dagster copies a range run's metadata into every day's materialization."""
    if len(rows) > FULL_METADATA_MAX_DAYS:
        return None
    if not rows:
        return MetadataValue.md("(no days)")
    columns = ["day", *next(iter(rows.values())).keys()]
    body = [[day.isoformat(), *values.values()] for day, values in rows.items()]
    return MetadataValue.md(markdown_table(columns, body))
