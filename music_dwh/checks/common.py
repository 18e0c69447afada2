"""Check results shared by every source system: reconciliation and row-count bands."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Callable, Iterable, Mapping

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from music_dwh.assets.metadata import FULL_METADATA_MAX_DAYS
from music_dwh.markdown import markdown_table
from music_dwh.resources.warehouse import WarehouseSession

# A day's row count warns outside [LOW × median, HIGH × median] of the 7 days before it. Real
# traffic is seasonal: on the public Sparkify month, days range from 0.18× (a Sunday after
# Thanksgiving) to 2.9× the trailing median, so a tight band would cry wolf every weekend.
# This band catches what it is for: an empty or truncated delivery, or one delivered many times.
BAND_LOW, BAND_HIGH, BAND_DAYS, BAND_MIN_HISTORY = 0.15, 5.0, 7, 3


def band_description(rows: str) -> str:
    """The row-count band check's description, from the constants that define the band."""
    return (
        f"Warns when a day's staged {rows} fall outside {BAND_LOW:g}×–{BAND_HIGH:g}× the median "
        f"of the {BAND_DAYS} days before it"
    )


def snapshot_books(
    session: WarehouseSession, table: str, quarantine_table: str, raw_records: int
) -> tuple[int, int, int]:
    """(raw records, staged, quarantined) of an unpartitioned staging table."""
    target = table.rpartition(".")[2]
    return (
        raw_records,
        session.count_rows(table),
        session.count_rows(quarantine_table, {"target_table": target}),
    )


def daily_books(
    session: WarehouseSession,
    table: str,
    quarantine_table: str,
    days: Iterable[dt.date],
    raw_records: Callable[[dt.date], int],
    keep: Callable[[dt.date, int, int], bool] | None = None,
) -> dict[str, tuple[int, int, int]]:
    """Day → (raw records, staged, quarantined) of a daily staging table, for
    ``reconciliation_result``. ``keep(day, staged, quarantined)`` leaves days out of the books
    (raw records are only counted for the days kept)."""
    days = list(days)
    target = table.rpartition(".")[2]
    staged = session.counts_by_day(table, days[0], days[-1])
    quarantined = session.counts_by_day(
        quarantine_table, days[0], days[-1], {"target_table": target}
    )
    return {
        day.isoformat(): (raw_records(day), staged.get(day, 0), quarantined.get(day, 0))
        for day in days
        if keep is None or keep(day, staged.get(day, 0), quarantined.get(day, 0))
    }


def reconciliation_result(books: Mapping[str, tuple[int, int, int]]) -> AssetCheckResult:
    """``books``: label (a day, a file) → (raw records, staged, quarantined). Blocking."""
    bad = {label: v for label, v in books.items() if v[0] != v[1] + v[2]}
    raw, staged, quarantined = (sum(v[i] for v in books.values()) for i in range(3))
    shown = bad or dict(list(books.items())[-10:])
    return AssetCheckResult(
        passed=not bad,
        severity=AssetCheckSeverity.ERROR,
        description=None
        if not bad
        else f"raw records ≠ staged + quarantined for {len(bad)} of {len(books)}: {', '.join(list(bad)[:5])}",
        metadata={
            "raw_records": raw,
            "staged": staged,
            "quarantined": quarantined,
            "unreconciled": len(bad),
            "books": MetadataValue.md(
                markdown_table(
                    ["", "raw", "staged", "quarantined", "ok"],
                    [
                        [label, r, s, q, "✅" if r == s + q else "❌"]
                        for label, (r, s, q) in shown.items()
                    ],
                )
            ),
        },
    )


def row_count_band_result(counts: Mapping[dt.date, int], days: list[dt.date]) -> AssetCheckResult:
    """Warn when a day's rows leave the band around the trailing median (a missing or
    truncated delivery, or a duplicated one). Needs a few days of history to judge."""
    verdicts = []
    for day in days:
        history = [counts.get(day - dt.timedelta(days=i), 0) for i in range(1, BAND_DAYS + 1)]
        history = [n for n in history if n > 0]
        rows = counts.get(day, 0)
        if len(history) < BAND_MIN_HISTORY:
            verdicts.append([day.isoformat(), rows, "", "", "not enough history"])
            continue
        median = statistics.median(history)
        low, high = BAND_LOW * median, BAND_HIGH * median
        verdicts.append(
            [
                day.isoformat(),
                rows,
                median,
                f"{low:g} – {high:g}",
                "ok" if low <= rows <= high else "outside",
            ]
        )
    outside = [v[0] for v in verdicts if v[4] == "outside"]
    return AssetCheckResult(
        passed=not outside,
        severity=AssetCheckSeverity.WARN,
        description=None
        if not outside
        else f"row count outside the {BAND_DAYS}-day band on {', '.join(outside[:5])}",
        metadata={
            "days_outside_band": len(outside),
            "days": MetadataValue.md(
                markdown_table(
                    ["day", "rows", f"{BAND_DAYS}-day median", "band", "verdict"],
                    verdicts[-FULL_METADATA_MAX_DAYS:],
                )
            ),
        },
    )
