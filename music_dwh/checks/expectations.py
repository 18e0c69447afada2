"""great-expectations 1.x suites as Dagster asset checks: what a check runs, in what order.

A ``Suite`` (``suite.py``) is declared in plain data (expectation class names and their
arguments), so importing the checks costs nothing. A partitioned table is judged on the run's
days only, each day by its own rows, so a check's cost follows the days being loaded, never the
table's history; the result sums the days and names the failing ones.

**A verdict in the warehouse first** (``sql_verdict.py``, DuckDB and PostgreSQL): one aggregate
query per suite counts, per day of the run's window, the rows GX would consider and the
unexpected ones for every expectation it can translate, judged with GX's own rule on the same
chunks of days GX would validate together. An expectation that passes there is reported with
its exact unexpected count; one that fails, or that the SQL cannot express, goes to
great-expectations (``gx_validation.py``: the cheapest result format first, halving down to the
failing days, full details for those only), which has the last word and the details. A passing
suite thus reads no row into Python, and great-expectations (≈2 s to import) is only imported
when something fails.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)

from music_dwh.assets.metadata import days_in_window
from music_dwh.checks.gx_validation import (
    cheap_failures,
    chunks,
    explain,
    judge_for,
)
from music_dwh.checks.sql_verdict import SQL_VERDICT_ENGINES, SqlVerdict, mostly_success
from music_dwh.checks.suite import Expect, ExpectationOutcome, Suite, Window
from music_dwh.markdown import markdown_table
from music_dwh.resources.warehouse import Warehouse, WarehouseSession

__all__ = ["Expect", "Suite", "run_suite", "suite_check", "window_days"]


def run_suite(
    suite: Suite, warehouse: Warehouse, session: WarehouseSession, days: Sequence[dt.date] | None
) -> AssetCheckResult:
    """Validate ``suite`` on the rows of ``days`` (or the whole table) and report as a check."""
    outcomes = [ExpectationOutcome(e.label, e.kwargs.get("mostly")) for e in suite.expectations]
    judge = judge_for(suite, warehouse, session)
    everything = list(range(len(suite.expectations)))
    verdict = SqlVerdict(suite, session) if session.engine in SQL_VERDICT_ENGINES else None
    counted = verdict.counted if verdict else {}
    uncounted = [i for i in everything if i not in counted]  # GX judges these, always
    window: Window = (days[0], days[-1]) if days and suite.partition_column else None
    per_day = verdict.per_day(window) if verdict else {}
    duplicated = verdict.duplicated_keys(window) if verdict else {}

    def for_gx(chunk_days: Sequence[Any]) -> list[int]:
        """The expectations GX must judge on these days' rows: those SQL cannot express and
        those that fail in SQL; the others are recorded as passed, with their exact counts."""
        out = list(uncounted)
        for i, c in counted.items():
            if c.key:
                if duplicated.get(i):
                    out.append(i)
                continue
            considered = sum(per_day.get(d, {}).get(i, (0, 0))[0] for d in chunk_days)
            unexpected = sum(per_day.get(d, {}).get(i, (0, 0))[1] for d in chunk_days)
            if mostly_success(
                considered, unexpected, suite.expectations[i].kwargs.get("mostly", 1.0)
            ):
                outcomes[i].unexpected += unexpected
            else:
                out.append(i)
        return sorted(out)

    if days and suite.partition_column:
        counts = session.counts_by_day(
            suite.table, days[0], days[-1], day_column=suite.partition_column
        )
        rows = 0
        for chunk in chunks(days, counts):
            rows += sum(counts[d] for d in chunk)
            indices = for_gx(chunk)
            failing = cheap_failures(judge, chunk, indices, outcomes) if indices else []
            if failing:
                explain(judge, chunk, counts, failing, outcomes)
    else:
        rows = judge.count(None)
        indices = for_gx([None])
        failing = cheap_failures(judge, None, indices, outcomes) if indices else []
        if failing:
            explain(judge, None, {}, failing, outcomes)
    passed = all(o.success for o in outcomes)
    failing_days = sorted({d for o in outcomes for d in o.failing_days})
    table = markdown_table(
        [
            "expectation",
            "ok",
            "unexpected",
            "observed",
            "sample of unexpected values",
            "failing days",
        ],
        [
            [
                o.label,
                "✅" if o.success else "❌",
                o.unexpected_cell,
                "" if o.observed is None else o.observed,
                ", ".join(map(str, o.sample)),
                ", ".join(o.failing_days[:5]) + (" …" if len(o.failing_days) > 5 else ""),
            ]
            for o in outcomes
        ],
    )
    failing = [o for o in outcomes if not o.success]
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR if suite.blocking else AssetCheckSeverity.WARN,
        description=None
        if passed
        else f"{len(failing)} expectation(s) failed"
        + (f" on {', '.join(failing_days[:5])}" if failing_days else "")
        + ": "
        + "; ".join(_failure_example(o) for o in failing[:3]),
        metadata={
            "expectations": MetadataValue.md(table),
            "evaluated_expectations": len(outcomes),
            "failed_expectations": len(failing),
            "rows_validated": rows,
            "days_validated": len(days) if days and suite.partition_column else 0,
            "failing_days": MetadataValue.text(", ".join(failing_days) or "none"),
        },
    )


def _failure_example(outcome: ExpectationOutcome) -> str:
    """A failed expectation with how many values failed it and one of them, if GX kept some."""
    value = outcome.sample[0] if outcome.sample else None
    example = f", e.g. {value!r}" if value is not None else ""
    return f"{outcome.label} ({outcome.unexpected_cell} unexpected{example})"


def window_days(context: AssetCheckExecutionContext) -> list[dt.date] | None:
    """The days a partitioned check covers in this run (one, or a whole backfill range)."""
    if context.has_partition_key or context.has_partition_key_range:
        return days_in_window(*context.partition_time_window)
    return None


def suite_check(
    suite: Suite,
    asset: AssetKey,
    *,
    partitions_def: PartitionsDefinition | None,
    pool: str | None,
) -> AssetChecksDefinition:
    """A Dagster asset check running ``suite`` on the materialized table."""

    @asset_check(
        asset=asset,
        name=suite.name,
        description=suite.description
        or f"great-expectations suite on `{suite.table}` ({'blocking' if suite.blocking else 'warns'}): "
        + "; ".join(e.label for e in suite.expectations),
        blocking=suite.blocking,
        partitions_def=partitions_def,
        pool=pool,
        compute_kind="great_expectations",
    )
    def _check(context: AssetCheckExecutionContext, warehouse: Warehouse) -> AssetCheckResult:
        with warehouse.session() as session:
            return run_suite(suite, warehouse, session, window_days(context))

    return _check
