"""What the oracle tests compare: a vectorized staging path against the line-by-line rules."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from music_dwh.staging.common import LoadStats


def books(stats: LoadStats):
    return (stats.files, stats.bytes, stats.records, stats.loaded, stats.repaired_values,
            [(r.source_file, r.line_number, r.reason, r.raw_text) for r in stats.rejected])  # fmt: skip


def assert_same(run: Callable[[bool], tuple[pa.Table, LoadStats]]) -> tuple[LoadStats, LoadStats]:
    """``run(fast)`` both ways: the same books, the same rows column by column, reconciled.
    Returns (fast stats, slow stats)."""
    slow, slow_stats = run(False)
    fast, fast_stats = run(True)
    assert books(fast_stats) == books(slow_stats)
    assert fast.schema == slow.schema
    for name in slow.column_names:  # column by column: a failure names the column
        assert fast.column(name).equals(slow.column(name)), name
    assert slow_stats.reconciles and fast_stats.reconciles
    return fast_stats, slow_stats
