"""great-expectations 1.x validation of what the warehouse's verdict (``sql_verdict.py``) did
not pass: GX has the last word and gives the details.

great-expectations (≈2-3 s to import) is imported inside the functions below, the first time
something is validated, never when this module is imported. Days are validated together in
chunks of up to ``CHUNK_ROWS`` rows. GX decides pass/fail with its cheapest result format
(``BOOLEAN_ONLY``: no unexpected values gathered, no counts kept); only what fails costs more.
A failing range is split in halves, each validated again the cheap way with only its failing
expectations and their columns, down to the failing days; only those days, and only their
failing expectations, are validated once more with full details (``SUMMARY``: unexpected
count, sample of values, observed value).

On DuckDB a day's rows are validated as a pandas frame (GX's SQL path is not reliable on
DuckDB: ``FrameJudge``); on PostgreSQL and Redshift a GX SQL datasource validates the same
rows in the server (``SqlJudge``).
"""

import datetime as dt
import uuid
from collections.abc import Sequence
from functools import cache
from typing import Any

from music_dwh.checks.suite import ExpectationOutcome, Suite, Window, window_clause
from music_dwh.resources.base import qualified, quote
from music_dwh.resources.warehouse import Warehouse, WarehouseSession

SAMPLE_UNEXPECTED = 5
# Result formats: the cheapest decides pass/fail; the detailed one explains a failing day.
CHEAP, DETAILED = "BOOLEAN_ONLY", "SUMMARY"
INDEX_META = "music_dwh_index"


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
    """The GX suite of the expectations at ``indices``, each tagged with its place in the
    suite: GX returns results grouped by column, not in the suite's order."""
    import great_expectations as gx

    expectations = [
        getattr(gx.expectations, suite.expectations[i].kind)(
            **suite.expectations[i].kwargs, meta={INDEX_META: i}
        )
        for i in indices
    ]
    return gx.ExpectationSuite(name=suite.name, expectations=expectations)


def _by_index(result, result_format: str) -> dict[int, dict]:
    """GX's results keyed by the expectation's place in the suite; detailed ones as JSON."""
    return {
        r.expectation_config.meta[INDEX_META]: (
            r.to_json_dict() if result_format == DETAILED else {"success": r.success}
        )
        for r in result.results
    }


class FrameJudge:
    """DuckDB: the window's rows, only the columns the expectations read, as a pandas frame
    validated in this process (GX's SQL path does not work on DuckDB)."""

    def __init__(self, suite: Suite, session: WarehouseSession):
        self.suite, self.session = suite, session
        self.quoted = qualified(suite.table)
        # The last frame fetched: a failing day is explained from the rows that just failed.
        self._last: tuple[Window, Any] | None = None

    def count(self, window: Window) -> int:
        where, params = window_clause(self.suite, window)
        return int(self.session.query(f"select count(*) from {self.quoted} {where}", params)[0][0])

    def _frame(self, window: Window, columns: list[str]):
        if (
            self._last is None
            or self._last[0] != window
            or not set(columns) <= set(self._last[1].columns)
        ):
            self._last = None  # let the previous frame go before fetching the next
            where, params = window_clause(self.suite, window)
            select = ", ".join(quote(c) for c in columns)
            table = self.session.query_arrow(f"select {select} from {self.quoted} {where}", params)
            # Column by column, each Arrow column freed once converted: the window is never
            # held twice, and no consolidated 2-D copy of same-typed columns is made. Strings
            # stay Arrow-backed (pandas 3's default); numbers become the NumPy arrays GX's
            # pandas metrics are fast on (Arrow-backed doubles make a range check 10× slower).
            self._last = (window, table.to_pandas(split_blocks=True, self_destruct=True))
            del table
        frame = self._last[1]
        return frame if list(frame.columns) == columns else frame[columns]  # a selection, no copy

    def validate(
        self, window: Window, indices: Sequence[int], result_format: str
    ) -> dict[int, dict]:
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


class SqlJudge:
    """PostgreSQL and Redshift: a GX SQL datasource validates the window's rows in the server."""

    def __init__(self, suite: Suite, warehouse: Warehouse, session: WarehouseSession):
        self.suite, self.warehouse, self.session = suite, warehouse, session
        self.quoted = qualified(suite.table)

    def _where(self, window: Window) -> str:
        # The window is two dates, safe to inline.
        where, params = window_clause(self.suite, window)
        return where.replace("?", "'{}'").format(*(d.isoformat() for d in params))

    def count(self, window: Window) -> int:
        return int(
            self.session.query(f"select count(*) from {self.quoted} {self._where(window)}")[0][0]
        )

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
            url = (
                f"{driver}://{target.user}{password}@{target.host}:{target.port}/{target.database}"
            )
            return context.data_sources.add_postgres(name=source_name, connection_string=url)

    def validate(
        self, window: Window, indices: Sequence[int], result_format: str
    ) -> dict[int, dict]:
        source = self._source()
        select = ", ".join(quote(c) for c in self.suite.columns_of(indices))
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


Judge = FrameJudge | SqlJudge


def judge_for(suite: Suite, warehouse: Warehouse, session: WarehouseSession) -> Judge:
    """The way ``session``'s engine validates ``suite`` (building one imports no GX)."""
    if session.engine == "duckdb":
        return FrameJudge(suite, session)
    return SqlJudge(suite, warehouse, session)


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


def chunks(days: Sequence[dt.date], counts: dict[dt.date, int]) -> list[list[dt.date]]:
    """``days`` in runs of up to ``CHUNK_ROWS`` rows, in order; days without rows left out."""
    out: list[list[dt.date]] = []
    current: list[dt.date] = []
    rows = 0
    for day in days:
        n = counts.get(day, 0)
        if n == 0:
            continue  # nothing to judge: an empty day passes every expectation
        if current and rows + n > CHUNK_ROWS:
            out.append(current)
            current, rows = [], 0
        current.append(day)
        rows += n
    if current:
        out.append(current)
    return out


def _halves(days: list[dt.date], counts: dict[dt.date, int]) -> tuple[list[dt.date], list[dt.date]]:
    """Two non-empty runs of days holding about half the rows each."""
    total, rows = sum(counts[d] for d in days), 0
    for k, day in enumerate(days[:-1], start=1):
        rows += counts[day]
        if 2 * rows >= total:
            return days[:k], days[k:]
    return days[:-1], days[-1:]


def cheap_failures(
    judge: Judge,
    days: list[dt.date] | None,
    indices: Sequence[int],
    outcomes: list[ExpectationOutcome],
) -> list[int]:
    """Validate ``indices`` on the rows of ``days`` (None: the whole table) the cheap way;
    record the passes and return the failing expectations."""
    window = (days[0], days[-1]) if days else None
    verdicts = judge.validate(window, indices, CHEAP)
    out = []
    for i in indices:
        if verdicts[i]["success"]:
            outcomes[i].passed_cheaply()
        else:
            out.append(i)
    return out


def explain(
    judge: Judge,
    days: list[dt.date] | None,
    counts: dict[dt.date, int],
    failing_indices: list[int],
    outcomes: list[ExpectationOutcome],
) -> None:
    """``failing_indices`` fail on the rows of ``days``: find the failing days by halving, the
    cheap way and with only the failing expectations (and so only their columns), then validate
    just those days, just those expectations, with full details.

    Like a chunk, a half that passes is trusted: exact for rules every row must meet; a
    ``mostly`` rule is judged on the rows validated together. An expectation that fails on a
    range but on none of its days (a key repeated on two days) passes: days are judged alone.
    """
    if not days or len(days) == 1:
        _merge(
            outcomes,
            judge.validate((days[0], days[0]) if days else None, failing_indices, DETAILED),
            days[0].isoformat() if days else None,
        )
        return
    for half in _halves(days, counts):
        still = cheap_failures(judge, half, failing_indices, outcomes)
        if still:
            explain(judge, half, counts, still, outcomes)
