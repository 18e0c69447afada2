"""great-expectations 1.x suites as Dagster asset checks: the whole integration, in one module.

A ``Suite`` is declared in plain data (expectation class names and their arguments), so
importing the checks costs nothing; great-expectations itself (≈3 s to import) is loaded the
first time a check runs. A partitioned table is judged day by day, each day by its own rows,
so a check's cost follows the days being loaded, never the table's history; the result sums
the days and names the failing ones.

GX decides pass/fail with its cheapest result format (``BOOLEAN_ONLY``: no unexpected values
gathered, no counts kept); only what fails costs more. A failing range is split in halves,
each validated again the cheap way with only its failing expectations and their columns, down
to the failing days; only those days, and only their failing expectations, are validated once
more with full details (``SUMMARY``: unexpected count, sample of values, observed value).

On DuckDB a day's rows are validated as a pandas frame (GX's SQL path is not reliable on
DuckDB); on PostgreSQL and Redshift a GX SQL datasource validates the same rows in the server.

**A verdict in the warehouse first.** Before any of that, one aggregate query per suite
(``_SqlVerdict``, DuckDB and PostgreSQL) counts, for every expectation it can translate (values
not null, in a set, between bounds, unique, compound unique), the rows GX would consider and the
unexpected ones, per day of the run's window; a second one finds duplicate keys in the window.
The counts are judged with GX's own rule (``mostly`` over the rows considered, empty passes), on
the same chunks of days GX would validate together. An expectation that passes there is
reported with its exact unexpected count; one that fails, or that the SQL cannot express, goes
to great-expectations as above, which has the last word and the details. The translation errs
on the strict side (a float NaN, missing for GX on pandas and a value for GX's SQL path, counts
as missing for NotBeNull and as unexpected for a set or a range; duplicates are looked for
across the whole window, not per chunk), so a pass in SQL is a pass in GX, and a failure costs
a GX validation. A passing suite thus reads no row into Python, and
great-expectations (≈2 s to import) is only imported when something fails.
"""


import datetime as dt
import uuid
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
from music_dwh.resources.base import qualified
from music_dwh.resources.warehouse import Warehouse, WarehouseSession

SAMPLE_UNEXPECTED = 5
# Result formats: the cheapest decides pass/fail; the detailed one explains a failing day.
CHEAP, DETAILED = "BOOLEAN_ONLY", "SUMMARY"
INDEX_META = "music_dwh_index"


@dataclass(frozen=True)
class Expect:
    """One expectation: a great_expectations.expectations class name and its arguments."""

    kind: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    def build(self, index: int):
        """The GX expectation, tagged with its place in the suite: GX returns results grouped
        by column, not in the suite's order."""
        import great_expectations as gx

        return getattr(gx.expectations, self.kind)(**self.kwargs, meta={INDEX_META: index})

    @property
    def columns(self) -> list[str]:
        return [c for c in [self.kwargs.get("column"), *self.kwargs.get("column_list", [])] if c]

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
        return self.columns_of(range(len(self.expectations)))

    def columns_of(self, indices: Sequence[int]) -> list[str]:
        """The columns the expectations at ``indices`` read: all a validation needs to fetch."""
        cols: list[str] = []
        for i in indices:
            for c in self.expectations[i].columns:
                if c not in cols:
                    cols.append(c)
        return cols


@cache
def _gx_context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every pandas batch below HASH_THRESHOLD bytes (an MD5 over
    # pandas.util.hash_pandas_object of the whole frame), twice per validation: once for the
    # Batch, once for its validator. The fingerprint is only a batch marker, which nothing here
    # reads, and it cost more than the expectations themselves (≈0.3 s of 0.4 s on a 486,000-row
    # chunk). 0 turns it off.
    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def _gx_suite(suite: Suite, indices: Sequence[int]):
    import great_expectations as gx

    expectations = [suite.expectations[i].build(i) for i in indices]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations)


def _by_index(result, result_format: str) -> dict[int, dict]:
    """GX's results keyed by the expectation's place in the suite; detailed ones as JSON."""
    return {
        r.expectation_config.meta[INDEX_META]: (
            r.to_json_dict() if result_format == DETAILED else {"success": r.success}
        )
        for r in result.results
    }


# The rows a validation covers: (first day, last day), inclusive; None for the whole table.
Window = tuple[dt.date, dt.date] | None


def _where(suite: Suite, window: Window) -> tuple[str, list]:
    if window is None:
        return "", []
    return f'where "{suite.partition_column}" >= ? and "{suite.partition_column}" <= ?', list(window)


class _FrameJudge:
    """DuckDB: the window's rows, only the columns the expectations read, as a pandas frame
    validated in this process (GX's SQL path does not work on DuckDB)."""

    def __init__(self, suite: Suite, session: WarehouseSession):
        self.suite, self.session = suite, session
        self.quoted = qualified(suite.table)
        # The last frame fetched: a failing day is explained from the rows that just failed.
        self._last: tuple[Window, Any] | None = None

    def count(self, window: Window) -> int:
        where, params = _where(self.suite, window)
        return int(self.session.query(f"select count(*) from {self.quoted} {where}", params)[0][0])

    def _frame(self, window: Window, columns: list[str]):
        if self._last is None or self._last[0] != window or not set(columns) <= set(self._last[1].columns):
            self._last = None  # let the previous frame go before fetching the next
            where, params = _where(self.suite, window)
            select = ", ".join(f'"{c}"' for c in columns)
            table = self.session.query_arrow(f"select {select} from {self.quoted} {where}", params)
            # Column by column, each Arrow column freed once converted: the window is never
            # held twice, and no consolidated 2-D copy of same-typed columns is made. Strings
            # stay Arrow-backed (pandas 3's default); numbers become the NumPy arrays GX's
            # pandas metrics are fast on (Arrow-backed doubles make a range check 10× slower).
            self._last = (window, table.to_pandas(split_blocks=True, self_destruct=True))
            del table
        frame = self._last[1]
        return frame if list(frame.columns) == columns else frame[columns]  # a selection, no copy

    def validate(self, window: Window, indices: Sequence[int], result_format: str) -> dict[int, dict]:
        context = _gx_context()
        source_name = "music_dwh_frames"
        try:
            source = context.data_sources.get(source_name)
        except (KeyError, ValueError):
            source = context.data_sources.add_pandas(name=source_name)
        try:
            asset = source.get_asset(self.suite.name)
        except LookupError:
            asset = source.add_dataframe_asset(name=self.suite.name)
        try:
            batch_definition = asset.get_batch_definition("whole")
        except (KeyError, ValueError, LookupError):
            batch_definition = asset.add_batch_definition_whole_dataframe("whole")
        frame = self._frame(window, self.suite.columns_of(indices))
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(_gx_suite(self.suite, indices), result_format=result_format)
        return _by_index(result, result_format)


class _SqlJudge:
    """PostgreSQL and Redshift: a GX SQL datasource validates the window's rows in the server."""

    def __init__(self, suite: Suite, warehouse: Warehouse, session: WarehouseSession):
        self.suite, self.warehouse, self.session = suite, warehouse, session
        self.quoted = qualified(suite.table)

    def _where(self, window: Window) -> str:
        # The window is two dates, safe to inline.
        where, params = _where(self.suite, window)
        return where.replace("?", "'{}'").format(*(d.isoformat() for d in params))

    def count(self, window: Window) -> int:
        return int(self.session.query(f"select count(*) from {self.quoted} {self._where(window)}")[0][0])

    def _source(self):
        context = _gx_context()
        target = self.warehouse.target
        # One data source per server, database and user (the context lives as long as the process).
        where = f"{target.user}@{target.host}:{target.port}/{target.database}"
        source_name = f"music_dwh_{target.engine}_{uuid.uuid5(uuid.NAMESPACE_URL, where).hex[:12]}"
        try:
            return context.data_sources.get(source_name)
        except (KeyError, ValueError):
            driver = "postgresql+psycopg2" if target.engine == "postgres" else "redshift+psycopg2"
            # GX substitutes ${VAR} from the environment when it connects: the password is never
            # part of a configuration string, metadata or log line. Without one the URL has none,
            # and libpq uses PGPASSWORD or ~/.pgpass, or needs none (trust, peer).
            password = ":${MUSIC_DWH_WAREHOUSE_PASSWORD}" if self.warehouse.password else ""
            url = f"{driver}://{target.user}{password}@{target.host}:{target.port}/{target.database}"
            return context.data_sources.add_postgres(name=source_name, connection_string=url)

    def validate(self, window: Window, indices: Sequence[int], result_format: str) -> dict[int, dict]:
        source = self._source()
        select = ", ".join(f'"{c}"' for c in self.suite.columns_of(indices))
        query = f"select {select} from {self.quoted} {self._where(window)}"
        # One asset per validation, removed afterwards: the context does not grow with the
        # windows a long backfill validates.
        asset_name = f"{self.suite.name}_{uuid.uuid4().hex}"
        asset = source.add_query_asset(name=asset_name, query=query)
        try:
            batch = asset.add_batch_definition_whole_table("whole").get_batch()
            result = batch.validate(_gx_suite(self.suite, indices), result_format=result_format)
        finally:
            source.delete_asset(asset_name)
        return _by_index(result, result_format)


_Judge = _FrameJudge | _SqlJudge

# Column types whose values can be NaN.
_FLOAT_TYPES = ("double", "float", "real", "numeric")
_STRING_TYPES = ("varchar", "char", "text", "string")
_NUMBER_TYPES = ("int", "double", "float", "real", "numeric", "decimal")
# Expectation arguments the translation understands; any other one (row_condition, strict
# bounds …) sends the expectation to GX.
_KNOWN_KWARGS = {"column", "column_list", "value_set", "min_value", "max_value", "mostly"}


def _literal(value: Any) -> str | None:
    """A SQL literal for a str, int or finite float; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, int) or (isinstance(value, float) and value == value and abs(value) != float("inf")):
        return repr(value)
    return None


@dataclass(frozen=True)
class _Counted:
    """How SQL judges one expectation: ``considered`` and ``unexpected`` are SQL conditions
    (counted per day) for a column-map rule; ``key`` the columns of a uniqueness rule."""

    considered: str = ""
    unexpected: str = ""
    key: tuple[str, ...] = ()
    whole_table_rows: bool = False  # NotBeNull: every row is considered, missing or not


class _SqlVerdict:
    """Counts, in the warehouse, what GX would count (see the module's docstring)."""

    def __init__(self, suite: Suite, session: WarehouseSession):
        self.suite, self.session = suite, session
        self.quoted = qualified(suite.table)
        types = {name: str(kind).lower() for name, kind in session.columns(suite.table)}
        self.counted: dict[int, _Counted] = {}
        for i, expect in enumerate(suite.expectations):
            counted = self._translate(expect, types)
            if counted is not None:
                self.counted[i] = counted

    @staticmethod
    def _nan(column: str, kind: str) -> str | None:
        if any(t in kind for t in _FLOAT_TYPES):
            return f"\"{column}\" = cast('NaN' as double precision)"
        return None

    def _translate(self, expect: Expect, types: dict[str, str]) -> _Counted | None:
        kwargs = expect.kwargs
        if set(kwargs) - _KNOWN_KWARGS or any(c not in types for c in expect.columns):
            return None
        mostly = kwargs.get("mostly", 1.0)
        if not isinstance(mostly, int | float) or not 0 <= mostly <= 1:
            return None
        if expect.kind == "ExpectCompoundColumnsToBeUnique":
            columns = tuple(kwargs.get("column_list") or ())
            return _Counted(key=columns) if len(columns) > 1 and mostly == 1 else None
        column = kwargs.get("column")
        if not column:
            return None
        kind, quoted = types[column], f'"{column}"'
        # NaN is the one value the two GX paths disagree on: pandas calls it missing, GX's SQL
        # path a value. Here it is whatever is stricter: missing for NotBeNull, and considered
        # but unexpected for a set or a range (where pandas would leave it out).
        nan = self._nan(column, kind)
        considered = f"{quoted} is not null"

        def unexpected_or_nan(condition: str) -> str:
            return f"(({condition}) or {nan})" if nan else condition

        if expect.kind == "ExpectColumnValuesToNotBeNull":
            return _Counted(considered="1 = 1", unexpected=unexpected_or_nan(f"{quoted} is null"),
                            whole_table_rows=True)
        if expect.kind == "ExpectColumnValuesToBeUnique":
            return _Counted(key=(column,)) if mostly == 1 else None
        if expect.kind == "ExpectColumnValuesToBeInSet":
            values = list(kwargs.get("value_set") or [])
            literals = [_literal(v) for v in values]
            if not values or None in literals:
                return None
            strings = all(isinstance(v, str) for v in values)
            if strings != any(t in kind for t in _STRING_TYPES) or (
                    not strings and not any(t in kind for t in _NUMBER_TYPES)):
                return None  # a comparison the two engines might type differently
            return _Counted(considered=considered, unexpected=unexpected_or_nan(f"{quoted} not in ({', '.join(literals)})"))
        if expect.kind == "ExpectColumnValuesToBeBetween":
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            bounds = [b for b in (low, high) if b is not None]
            if not bounds or any(_literal(b) is None or isinstance(b, str) for b in bounds):
                return None
            if not any(t in kind for t in _NUMBER_TYPES):
                return None
            inside = " and ".join(
                ([f"{quoted} >= {_literal(low)}"] if low is not None else [])
                + ([f"{quoted} <= {_literal(high)}"] if high is not None else []))
            return _Counted(considered=considered, unexpected=unexpected_or_nan(f"not ({inside})"))
        return None

    def _where(self, window: Window) -> tuple[str, list]:
        return _where(self.suite, window)

    def per_day(self, window: Window) -> dict[Any, dict[int, tuple[int, int]]]:
        """day (None for an unpartitioned table) → expectation index → (rows considered,
        unexpected), for the column-map rules."""
        mapped = {i: c for i, c in self.counted.items() if not c.key}
        if not mapped:
            return {}
        where, params = self._where(window)
        sums = []
        for c in mapped.values():
            sums.append("count(*)" if c.whole_table_rows else f"sum(case when {c.considered} then 1 else 0 end)")
            sums.append(f"sum(case when {c.considered} and {c.unexpected} then 1 else 0 end)")
        if window is None:  # one row, the whole table
            rows = [(None, *r) for r in self.session.query(f"select {', '.join(sums)} from {self.quoted}")]
        else:
            rows = self.session.query(f'select "{self.suite.partition_column}", {", ".join(sums)} '
                                      f"from {self.quoted} {where} group by 1", params)
        out: dict[Any, dict[int, tuple[int, int]]] = {}
        for row in rows:
            d = row[0]
            if d is not None and not isinstance(d, dt.date):
                d = dt.date.fromisoformat(str(d))
            values = [int(v or 0) for v in row[1:]]
            out[d] = {i: (values[2 * k], values[2 * k + 1]) for k, i in enumerate(mapped)}
        return out

    def duplicated_keys(self, window: Window) -> dict[int, int]:
        """Uniqueness rules → how many distinct keys occur more than once in the window (rows
        whose key is entirely missing are left out, as GX does)."""
        out = {}
        where, params = self._where(window)
        for i, c in self.counted.items():
            if not c.key:
                continue
            columns = ", ".join(f'"{k}"' for k in c.key)
            present = " or ".join(f'"{k}" is not null' for k in c.key)
            condition = f"{where} and ({present})" if where else f"where ({present})"
            out[i] = int(self.session.query(
                f"select count(*) from (select {columns} from {self.quoted} {condition} "
                f"group by {columns} having count(*) > 1) duplicated", params)[0][0])
        return out


def _mostly_success(considered: int, unexpected: int, mostly: float) -> bool:
    """GX's rule for a map expectation: vacuously true without rows, else the share of
    expected rows at least ``mostly`` (great_expectations.expectations.expectation)."""
    if considered == 0:
        return True
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


@dataclass
class ExpectationOutcome:
    label: str
    mostly: float | None = None
    success: bool = True
    unexpected: int = 0
    # Passed somewhere on the cheap format, which counts nothing, while ``mostly`` lets some
    # values be unexpected: the count there is only known to be within the allowance.
    uncounted: bool = False
    observed: Any = None
    sample: list = field(default_factory=list)
    failing_days: list[str] = field(default_factory=list)

    def passed_cheaply(self) -> None:
        if self.mostly is not None and self.mostly < 1:
            self.uncounted = True

    @property
    def unexpected_cell(self) -> str | int:
        if self.success and self.uncounted:
            return f"≤ {100 * (1 - self.mostly):g} %"
        return self.unexpected


def _merge(outcomes: list[ExpectationOutcome], results: dict[int, dict], day: str | None) -> None:
    """Detailed results: counts, observed values, samples and the failing day."""
    for i, result in results.items():
        outcome = outcomes[i]
        details = result.get("result") or {}
        outcome.unexpected += details.get("unexpected_count") or 0
        if details.get("observed_value") is not None:
            outcome.observed = details["observed_value"]
        if not result["success"]:
            outcome.success = False
            if day:
                outcome.failing_days.append(day)
            for value in details.get("partial_unexpected_list") or []:
                if len(outcome.sample) < SAMPLE_UNEXPECTED:
                    outcome.sample.append(value)


# Days are validated together, up to this many rows at a time. (A day at a time for a five-year
# backfill would cost a GX validation per day; a whole range at once would hold it all in memory.)
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


def _halves(days: list[dt.date], counts: dict[dt.date, int]) -> tuple[list[dt.date], list[dt.date]]:
    """Two non-empty runs of days holding about half the rows each."""
    total, rows = sum(counts[d] for d in days), 0
    for k, day in enumerate(days[:-1], start=1):
        rows += counts[day]
        if 2 * rows >= total:
            return days[:k], days[k:]
    return days[:-1], days[-1:]


def _failing(
    judge: _Judge, days: list[dt.date] | None, indices: Sequence[int], outcomes: list[ExpectationOutcome]
) -> list[int]:
    """Validate ``indices`` on the rows of ``days`` (None: the whole table) the cheap way;
    record the passes and return the failing expectations."""
    window = (days[0], days[-1]) if days else None
    verdicts = judge.validate(window, indices, CHEAP)
    failing = []
    for i in indices:
        if verdicts[i]["success"]:
            outcomes[i].passed_cheaply()
        else:
            failing.append(i)
    return failing


def _explain(
    judge: _Judge, days: list[dt.date] | None, counts: dict[dt.date, int], failing: list[int],
    outcomes: list[ExpectationOutcome],
) -> None:
    """``failing`` fail on the rows of ``days``: find the failing days by halving, the cheap
    way and with only the failing expectations (and so only their columns), then validate just
    those days, just those expectations, with full details.

    Like a chunk, a half that passes is trusted: exact for rules every row must meet; a
    ``mostly`` rule is judged on the rows validated together. An expectation that fails on a
    range but on none of its days (a key repeated on two days) passes: days are judged alone.
    """
    if not days or len(days) == 1:
        _merge(outcomes, judge.validate((days[0], days[0]) if days else None, failing, DETAILED),
               days[0].isoformat() if days else None)
        return
    for half in _halves(days, counts):
        still = _failing(judge, half, failing, outcomes)
        if still:
            _explain(judge, half, counts, still, outcomes)


# Engines the warehouse verdict runs on: its SQL (CASE sums, a NaN literal, GROUP BY … HAVING)
# was verified against GX on DuckDB and PostgreSQL; Redshift keeps GX's own SQL path.
SQL_VERDICT_ENGINES = ("duckdb", "postgres")


def run_suite(
    suite: Suite, warehouse: Warehouse, session: WarehouseSession, days: Sequence[dt.date] | None
) -> AssetCheckResult:
    """Validate ``suite`` on the rows of ``days`` (or the whole table) and report as a check."""
    outcomes = [ExpectationOutcome(e.label, e.kwargs.get("mostly")) for e in suite.expectations]
    judge: _Judge = (
        _FrameJudge(suite, session) if session.engine == "duckdb" else _SqlJudge(suite, warehouse, session)
    )
    everything = list(range(len(suite.expectations)))
    verdict = _SqlVerdict(suite, session) if session.engine in SQL_VERDICT_ENGINES else None
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
            if _mostly_success(considered, unexpected, suite.expectations[i].kwargs.get("mostly", 1.0)):
                outcomes[i].unexpected += unexpected
            else:
                out.append(i)
        return sorted(out)

    if days and suite.partition_column:
        counts = session.counts_by_day(
            suite.table, days[0], days[-1], day_column=suite.partition_column
        )
        rows = 0
        for chunk in _chunks(days, counts):
            rows += sum(counts[d] for d in chunk)
            indices = for_gx(chunk)
            failing = _failing(judge, chunk, indices, outcomes) if indices else []
            if failing:
                _explain(judge, chunk, counts, failing, outcomes)
    else:
        rows = judge.count(None)
        indices = for_gx([None])
        failing = _failing(judge, None, indices, outcomes) if indices else []
        if failing:
            _explain(judge, None, {}, failing, outcomes)
    passed = all(o.success for o in outcomes)
    failing_days = sorted({d for o in outcomes for d in o.failing_days})
    table = markdown_table(
        ["expectation", "ok", "unexpected", "observed", "sample of unexpected values", "failing days"],
        [
            [o.label, "✅" if o.success else "❌", o.unexpected_cell,
             "" if o.observed is None else o.observed, ", ".join(map(str, o.sample)),
             ", ".join(o.failing_days[:5]) + (" …" if len(o.failing_days) > 5 else "")]
            for o in outcomes
        ],
    )
    failed = sum(not o.success for o in outcomes)
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

