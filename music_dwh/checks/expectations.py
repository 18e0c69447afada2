"""great-expectations 1.x suites as Dagster asset checks: the whole integration, in one module.

A ``Suite`` is declared in plain data (expectation class names and their arguments), so
importing the checks costs nothing; great-expectations itself (≈3 s to import) is loaded the
first time a check runs. A partitioned table is judged day by day, each day by its own rows,
so a check's cost follows the days being loaded, never the table's history; the result sums
the days and names the failing ones.

On DuckDB a day's rows are validated as a pandas frame (GX's SQL path is not reliable on
DuckDB); on PostgreSQL and Redshift a GX SQL datasource validates the same rows in the server.
"""


import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetChecksDefinition,
    AssetKey,
    MetadataValue,
    PartitionsDefinition,
    asset_check,
)

from music_dwh.assets.metadata import days_in_window, markdown_table
from music_dwh.resources.warehouse import Warehouse, WarehouseSession

SAMPLE_UNEXPECTED = 5


@dataclass(frozen=True)
class Expect:
    """One expectation: a great_expectations.expectations class name and its arguments."""

    kind: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self):
        import great_expectations as gx

        return getattr(gx.expectations, self.kind)(**self.kwargs)

    @property
    def label(self) -> str:
        target = self.kwargs.get("column") or ",".join(self.kwargs.get("column_list", []))
        return f"{self.kind}({target})" if target else self.kind


@dataclass(frozen=True)
class Suite:
    """The expectations one table must meet.

    ``blocking`` suites guard correctness (keys, required values): a failure stops everything
    downstream in the run. The others describe distributions and only warn.
    """

    name: str
    table: str  # schema.table
    expectations: tuple[Expect, ...]
    blocking: bool
    partition_column: str | None = None
    description: str = ""

    @property
    def columns(self) -> list[str]:
        cols: list[str] = []
        for e in self.expectations:
            for c in [e.kwargs.get("column"), *e.kwargs.get("column_list", [])]:
                if c and c not in cols:
                    cols.append(c)
        return cols


@cache
def _gx_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx_suite(suite: Suite):
    import great_expectations as gx

    return gx.ExpectationSuite(name=suite.name, expectations=[e.build() for e in suite.expectations])


def _validate_frame(suite: Suite, frame) -> list[dict]:
    context = _gx_context()
    source_name = "music_dwh_frames"
    try:
        source = context.data_sources.get(source_name)
    except (KeyError, ValueError):
        source = context.data_sources.add_pandas(name=source_name)
    try:
        asset = source.get_asset(suite.name)
    except LookupError:
        asset = source.add_dataframe_asset(name=suite.name)
    try:
        batch_definition = asset.get_batch_definition("whole")
    except (KeyError, ValueError, LookupError):
        batch_definition = asset.add_batch_definition_whole_dataframe("whole")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    result = batch.validate(_gx_suite(suite))
    return [r.to_json_dict() for r in result.results]


def _validate_sql(suite: Suite, warehouse: Warehouse, query: str) -> list[dict]:
    context = _gx_context()
    target = warehouse.target
    source_name = f"music_dwh_{target.engine}"
    try:
        source = context.data_sources.get(source_name)
    except (KeyError, ValueError):
        driver = "postgresql+psycopg2" if target.engine == "postgres" else "redshift+psycopg2"
        # GX substitutes ${VAR} from the environment when it connects: the password is never
        # part of a configuration string, metadata or log line. Without one the URL has none,
        # and libpq uses PGPASSWORD or ~/.pgpass, or needs none (trust, peer).
        password = ":${MUSIC_DWH_WAREHOUSE_PASSWORD}" if warehouse.password else ""
        source = context.data_sources.add_postgres(
            name=source_name,
            connection_string=f"{driver}://{target.user}{password}@{target.host}:{target.port}/{target.database}",
        )
    asset_name = f"{suite.name}_{abs(hash(query))}"
    try:
        asset = source.get_asset(asset_name)
    except LookupError:
        asset = source.add_query_asset(name=asset_name, query=query)
    batch_definition = asset.add_batch_definition_whole_table("whole")
    result = batch_definition.get_batch().validate(_gx_suite(suite))
    return [r.to_json_dict() for r in result.results]


@dataclass
class ExpectationOutcome:
    label: str
    success: bool = True
    unexpected: int = 0
    observed: Any = None
    sample: list = field(default_factory=list)
    failing_days: list[str] = field(default_factory=list)


def _merge(outcomes: dict[str, ExpectationOutcome], results: list[dict], suite: Suite, day: str | None) -> None:
    for expect, result in zip(suite.expectations, results, strict=True):
        outcome = outcomes[expect.label]
        details = result.get("result") or {}
        unexpected = details.get("unexpected_count") or 0
        outcome.unexpected += unexpected
        if details.get("observed_value") is not None:
            outcome.observed = details["observed_value"]
        if not result["success"]:
            outcome.success = False
            if day:
                outcome.failing_days.append(day)
            for value in details.get("partial_unexpected_list") or []:
                if len(outcome.sample) < SAMPLE_UNEXPECTED:
                    outcome.sample.append(value)


# Days are validated together, up to this many rows at a time; a chunk that fails is validated
# again day by day to name the failing days. (A day at a time for a five-year backfill would
# cost a GX validation per day; a whole range at once would hold it all in memory.)
CHUNK_ROWS = 500_000


def _chunks(days: Sequence[dt.date], counts: dict[dt.date, int]) -> list[list[dt.date]]:
    chunks: list[list[dt.date]] = []
    current: list[dt.date] = []
    rows = 0
    for day in days:
        n = counts.get(day, 0)
        if n == 0:
            continue  # nothing to judge: an empty day passes every expectation
        if current and rows + n > CHUNK_ROWS:
            chunks.append(current)
            current, rows = [], 0
        current.append(day)
        rows += n
    if current:
        chunks.append(current)
    return chunks


def _validate(
    suite: Suite, warehouse: Warehouse, session: WarehouseSession, days: list[dt.date] | None
) -> tuple[list[dict], int]:
    quoted = ".".join(f'"{p}"' for p in suite.table.split("."))
    select = ", ".join(f'"{c}"' for c in suite.columns)
    where, params = "", []
    if days:
        where = f'where "{suite.partition_column}" >= ? and "{suite.partition_column}" <= ?'
        params = [days[0], days[-1]]
    if session.engine == "duckdb":
        frame = session.query_arrow(f"select {select} from {quoted} {where}", params).to_pandas()
        return _validate_frame(suite, frame), len(frame)
    # Server engines validate in the server; the window is two dates, safe to inline.
    literal = where.replace("?", "'{}'").format(*(d.isoformat() for d in params)) if days else ""
    rows = session.query(f"select count(*) from {quoted} {literal}")[0][0]
    return _validate_sql(suite, warehouse, f"select {select} from {quoted} {literal}"), rows


def run_suite(
    suite: Suite, warehouse: Warehouse, session: WarehouseSession, days: Sequence[dt.date] | None
) -> AssetCheckResult:
    """Validate ``suite`` on the rows of ``days`` (or the whole table) and report as a check."""
    outcomes: dict[str, ExpectationOutcome] = {e.label: ExpectationOutcome(e.label) for e in suite.expectations}
    rows = 0
    if days and suite.partition_column:
        schema, name = suite.table.split(".")
        counts = {
            (d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d))): int(n)
            for d, n in session.query(
                f'select "{suite.partition_column}", count(*) from "{schema}"."{name}" '
                f'where "{suite.partition_column}" >= ? and "{suite.partition_column}" <= ? group by 1',
                [days[0], days[-1]],
            )
        }
        for chunk in _chunks(days, counts):
            results, n = _validate(suite, warehouse, session, chunk)
            rows += n
            if all(r["success"] for r in results) or len(chunk) == 1:
                _merge(outcomes, results, suite, chunk[0].isoformat() if len(chunk) == 1 else None)
                continue
            for day in chunk:
                day_results, _ = _validate(suite, warehouse, session, [day])
                _merge(outcomes, day_results, suite, day.isoformat())
    else:
        results, rows = _validate(suite, warehouse, session, None)
        _merge(outcomes, results, suite, None)
    passed = all(o.success for o in outcomes.values())
    failing_days = sorted({d for o in outcomes.values() for d in o.failing_days})
    table = markdown_table(
        ["expectation", "ok", "unexpected", "observed", "sample of unexpected values", "failing days"],
        [
            [o.label, "✅" if o.success else "❌", o.unexpected,
             "" if o.observed is None else o.observed, ", ".join(map(str, o.sample)),
             ", ".join(o.failing_days[:5]) + (" …" if len(o.failing_days) > 5 else "")]
            for o in outcomes.values()
        ],
    )
    failed = sum(not o.success for o in outcomes.values())
    return AssetCheckResult(
        passed=passed,
        severity=AssetCheckSeverity.ERROR if suite.blocking else AssetCheckSeverity.WARN,
        description=None if passed else f"{failed} expectation(s) failed"
        + (f" on {', '.join(failing_days[:5])}" if failing_days else ""),
        metadata={
            "expectations": MetadataValue.md(table),
            "evaluated_expectations": len(outcomes),
            "failed_expectations": failed,
            "rows_validated": rows,
            "days_validated": len(days) if days and suite.partition_column else 0,
            "failing_days": MetadataValue.text(", ".join(failing_days) or "none"),
        },
    )


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

