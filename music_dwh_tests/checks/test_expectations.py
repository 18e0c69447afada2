"""The great-expectations integration on a real DuckDB table (and on PostgreSQL, through GX's
SQL datasource): per-day judgement, chunking, failing days named, metadata an engineer can act
on, and what each costs: a verdict counted in the warehouse first (a passing suite needs no GX
at all), then the cheapest result format decides what fails, full details only for a failing
day. (That the warehouse's verdict never passes what GX would fail is test_sql_verdict.py.)"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from music_dwh.checks import gx_validation
from music_dwh.checks.common import reconciliation_result, row_count_band_result
from music_dwh.checks.expectations import Expect, Suite, run_suite
from music_dwh.resources.warehouse import TableWrite
from music_dwh_tests.conftest import REPO_ROOT

SCHEMA = pa.schema([("partition_date", pa.date32()), ("level", pa.string()), ("n", pa.int64())])
D1, D2, D3 = dt.date(2018, 11, 1), dt.date(2018, 11, 2), dt.date(2018, 11, 3)
SUITE = Suite(
    name="t_expectations",
    table="t.events",
    partition_column="partition_date",
    blocking=True,
    expectations=(
        Expect("ExpectColumnValuesToNotBeNull", {"column": "n"}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "level", "value_set": ["free", "paid"]}),
    ),
)


def _load(warehouse, rows):
    batch = pa.RecordBatch.from_pylist(
        [dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA
    )
    with warehouse.session() as s:
        s.write([TableWrite("t.events", SCHEMA, [batch])])


def test_a_good_range_passes_with_counts(warehouse):
    _load(warehouse, [(D1, "free", 1), (D2, "paid", 2), (D3, "free", 3)])
    with warehouse.session() as s:
        result = run_suite(SUITE, warehouse, s, [D1, D2, D3])
    assert result.passed
    assert result.metadata["rows_validated"].value == 3
    assert result.metadata["failed_expectations"].value == 0


@pytest.mark.parametrize("chunk_rows", [1, 500_000])
def test_a_bad_day_is_named_with_its_unexpected_values(warehouse, monkeypatch, chunk_rows):
    monkeypatch.setattr(
        gx_validation, "CHUNK_ROWS", chunk_rows
    )  # one day per chunk, or all together
    _load(warehouse, [(D1, "free", 1), (D2, "premium", 2), (D2, "gold", None), (D3, "paid", 3)])
    with warehouse.session() as s:
        result = run_suite(SUITE, warehouse, s, [D1, D2, D3])
    assert not result.passed
    assert result.metadata["failing_days"].value == "2018-11-02"
    table = result.metadata["expectations"].value
    assert "ExpectColumnValuesToBeInSet(level) | ❌ | 2 |" in table
    assert "premium" in table and "gold" in table
    assert "ExpectColumnValuesToNotBeNull(n) | ❌ | 1 |" in table
    assert result.description == (
        "2 expectation(s) failed on 2018-11-02: ExpectColumnValuesToNotBeNull(n) (1 unexpected); "
        "ExpectColumnValuesToBeInSet(level) (2 unexpected, e.g. 'premium')"
    )


def test_only_the_window_is_judged(warehouse):
    _load(warehouse, [(D1, "premium", 1), (D2, "free", 2)])
    with warehouse.session() as s:
        assert run_suite(SUITE, warehouse, s, [D2]).passed
        assert not run_suite(SUITE, warehouse, s, [D1]).passed


@pytest.fixture
def validations(monkeypatch):
    """Every validation GX runs: its result format, rows, columns and expectations."""
    from great_expectations.core.result_format import DEFAULT_RESULT_FORMAT
    from great_expectations.datasource.fluent.interfaces import Batch

    seen: list[dict] = []
    validate = Batch.validate

    def recording(self, expect, *, result_format=DEFAULT_RESULT_FORMAT, **kwargs):
        frame = (self.batch_request.options or {}).get("dataframe")
        seen.append(
            {
                "format": getattr(result_format, "value", result_format),
                "rows": None if frame is None else len(frame),
                "columns": None if frame is None else sorted(frame.columns),
                "query": getattr(self.data_asset, "query", None),
                "expectations": sorted(e.expectation_type for e in expect.expectations),
            }
        )
        return validate(self, expect, result_format=result_format, **kwargs)

    monkeypatch.setattr(Batch, "validate", recording)
    return seen


def test_a_passing_range_is_judged_in_the_warehouse_without_gx(warehouse, validations):
    _load(warehouse, [(D1, "free", 1), (D2, "paid", 2), (D3, "free", 3), (D3, "paid", None)])
    mostly = Suite(
        name="t_mostly",
        table="t.events",
        partition_column="partition_date",
        blocking=False,
        expectations=(Expect("ExpectColumnValuesToNotBeNull", {"column": "n", "mostly": 0.7}),),
    )
    with warehouse.session() as s:
        result = run_suite(SUITE, warehouse, s, [D1, D2])
        allowed = run_suite(mostly, warehouse, s, [D1, D2, D3])
    assert result.passed and result.metadata["rows_validated"].value == 2
    assert validations == []  # no row read into Python, no GX validation
    # A `mostly` rule that passes shows the exact count of its unexpected rows.
    assert (
        allowed.passed
        and "ExpectColumnValuesToNotBeNull(n) | ✅ | 1 |" in allowed.metadata["expectations"].value
    )
    assert validations == []


def test_an_expectation_sql_cannot_express_is_judged_by_gx_alone_with_the_cheapest_format(
    warehouse, validations
):
    suite = Suite(
        name="t_mixed",
        table="t.events",
        partition_column="partition_date",
        blocking=True,
        expectations=(
            *SUITE.expectations,
            Expect("ExpectColumnValueLengthsToBeBetween", {"column": "level", "min_value": 4}),
        ),
    )
    _load(warehouse, [(D1, "free", 1), (D2, "paid", 2), (D3, "free", 3)])
    with warehouse.session() as s:
        assert run_suite(suite, warehouse, s, [D1, D2, D3]).passed
    assert [(v["format"], v["rows"], v["columns"], v["expectations"]) for v in validations] == [
        ("BOOLEAN_ONLY", 3, ["level"], ["expect_column_value_lengths_to_be_between"])
    ]


def test_a_passing_suite_does_not_import_great_expectations(workspace, warehouse):
    """What the warehouse verdict buys: ≈2 s of import per run process, when nothing fails."""
    import subprocess
    import sys

    _load(warehouse, [(D1, "free", 1), (D2, "paid", 2)])
    code = (
        "import sys\n"
        "from music_dwh.checks.expectations import run_suite\n"
        "from music_dwh.resources.warehouse import Warehouse\n"
        "from music_dwh_tests.checks.test_expectations import SUITE, D1, D2\n"
        "w = Warehouse(url=sys.argv[1])\n"
        "with w.session() as s:\n"
        "    ok = run_suite(SUITE, w, s, [D1, D2]).passed\n"
        "print(ok, 'great_expectations' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, warehouse.url],
        capture_output=True,
        text=True,
        timeout=120,
        env=workspace.env,
        cwd=str(REPO_ROOT),
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["True", "False"]


def test_only_a_failing_day_is_validated_with_full_details(warehouse, validations):
    """Forty days in one chunk, one bad: halving finds it with the cheap format and only the
    failing expectation's column; full details are asked for that day alone."""
    days = [D1 + dt.timedelta(days=i) for i in range(40)]
    bad = days[26]
    _load(
        warehouse,
        [(d, "gold" if d == bad and i == 0 else "free", i) for d in days for i in range(3)],
    )
    with warehouse.session() as s:
        result = run_suite(SUITE, warehouse, s, days)
    assert not result.passed
    assert result.metadata["failing_days"].value == bad.isoformat()
    assert result.metadata["rows_validated"].value == 120
    table = result.metadata["expectations"].value
    assert "ExpectColumnValuesToBeInSet(level) | ❌ | 1 |  | gold | 2018-11-27 |" in table
    assert "ExpectColumnValuesToNotBeNull(n) | ✅ | 0 |" in table

    detailed = [v for v in validations if v["format"] != "BOOLEAN_ONLY"]
    assert detailed == [
        {
            "format": "SUMMARY",
            "rows": 3,
            "columns": ["level"],
            "query": None,
            "expectations": ["expect_column_values_to_be_in_set"],
        }
    ]
    cheap = [v for v in validations if v["format"] == "BOOLEAN_ONLY"]
    # GX only sees what failed in the warehouse: the whole chunk, then halves, one column.
    assert cheap[0]["rows"] == 120 and cheap[0]["columns"] == ["level"]
    assert all(v["columns"] == ["level"] for v in cheap)
    assert len(cheap) <= 1 + 2 * 6  # halving 40 days: at most two halves per level


def test_results_are_matched_to_their_expectations(warehouse):
    """GX returns results grouped by column, not in the suite's order: each one must still
    land on its own expectation. A `mostly` rule that passes in the warehouse shows its exact
    count."""
    suite = Suite(
        name="t_order",
        table="t.events",
        partition_column="partition_date",
        blocking=False,
        expectations=(
            Expect("ExpectColumnValuesToNotBeNull", {"column": "level"}),
            Expect("ExpectColumnValuesToNotBeNull", {"column": "n", "mostly": 0.5}),
            Expect(
                "ExpectColumnValuesToBeInSet", {"column": "level", "value_set": ["free", "paid"]}
            ),
        ),
    )
    _load(warehouse, [(D1, "free", 1), (D1, "premium", None), (D1, "paid", 3)])
    with warehouse.session() as s:
        result = run_suite(suite, warehouse, s, [D1])
    table = result.metadata["expectations"].value
    assert "ExpectColumnValuesToNotBeNull(level) | ✅ | 0 |" in table
    assert "ExpectColumnValuesToNotBeNull(n) | ✅ | 1 |" in table
    assert "ExpectColumnValuesToBeInSet(level) | ❌ | 1 |  | premium | 2018-11-01 |" in table
    assert result.description == (
        "1 expectation(s) failed on 2018-11-01: ExpectColumnValuesToBeInSet(level) "
        "(1 unexpected, e.g. 'premium')"
    )


def test_an_unpartitioned_table_fails_with_details(warehouse, validations):
    suite = Suite(name="t_whole", table="t.events", blocking=True, expectations=SUITE.expectations)
    _load(warehouse, [(D1, "free", 1), (D2, "premium", 2)])
    with warehouse.session() as s:
        result = run_suite(suite, warehouse, s, None)
    assert not result.passed and result.metadata["rows_validated"].value == 2
    assert (
        "ExpectColumnValuesToBeInSet(level) | ❌ | 1 |  | premium |  |"
        in result.metadata["expectations"].value
    )
    assert [(v["format"], v["columns"]) for v in validations] == [
        ("BOOLEAN_ONLY", ["level"]),
        ("SUMMARY", ["level"]),
    ]


def test_postgres_is_validated_in_the_server(postgres_server, monkeypatch, validations):
    """The SQL datasource path: the same verdicts, days and details as on DuckDB, each query
    reading only the columns it needs."""
    from music_dwh.resources.warehouse import Warehouse

    monkeypatch.setenv("MUSIC_DWH_WAREHOUSE_PASSWORD", postgres_server.password)
    warehouse = Warehouse(
        url=postgres_server.url(postgres_server.create_database()),
        password=postgres_server.password,
    )
    _load(warehouse, [(D1, "free", 1), (D2, "premium", 2), (D2, "gold", None), (D3, "paid", 3)])
    gx_validation._gx_context.cache_clear()  # a fresh GX context: no data source from another test
    try:
        with warehouse.session() as s:
            good = run_suite(SUITE, warehouse, s, [D1])
            again = run_suite(SUITE, warehouse, s, [D1])  # the same query twice in one process
            gx_when_passing = len(validations)
            result = run_suite(SUITE, warehouse, s, [D1, D2, D3])
    finally:
        gx_validation._gx_context.cache_clear()
    assert good.passed and again.passed and good.metadata["rows_validated"].value == 1
    assert gx_when_passing == 0  # the good day: counted in the server, no GX validation
    assert not result.passed
    assert result.metadata["failing_days"].value == "2018-11-02"
    assert result.metadata["rows_validated"].value == 4
    table = result.metadata["expectations"].value
    assert (
        "ExpectColumnValuesToBeInSet(level) | ❌ | 2 |" in table
        and "premium" in table
        and "gold" in table
    )
    assert "ExpectColumnValuesToNotBeNull(n) | ❌ | 1 |" in table
    assert all(v["query"] and v["rows"] is None for v in validations)
    assert validations[0]["format"] == "BOOLEAN_ONLY" and "'2018-11-01'" in validations[0]["query"]
    detailed = [v["query"] for v in validations if v["format"] != "BOOLEAN_ONLY"]
    assert detailed == [
        'select "n", "level" from "t"."events" '
        """where "partition_date" >= '2018-11-02' and "partition_date" <= '2018-11-02'"""
    ]


def test_reconciliation_names_the_days_that_do_not_add_up():
    ok = reconciliation_result({"2018-11-01": (10, 9, 1)})
    bad = reconciliation_result({"2018-11-01": (10, 9, 1), "2018-11-02": (5, 3, 1)})
    assert ok.passed and not bad.passed
    assert "2018-11-02" in bad.description and bad.metadata["unreconciled"].value == 1


def test_row_count_band_warns_on_an_empty_day_and_needs_history():
    counts = {D1 + dt.timedelta(days=i): 100 for i in range(7)}
    late = D1 + dt.timedelta(days=7)
    assert row_count_band_result({**counts, late: 90}, [late]).passed
    result = row_count_band_result(counts, [late])  # no rows at all that day
    assert not result.passed and late.isoformat() in result.description
    assert row_count_band_result({D1: 5}, [D1]).passed  # not enough history to judge
