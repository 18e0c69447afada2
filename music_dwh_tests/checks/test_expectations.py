"""The great-expectations integration on a real DuckDB table: per-day judgement, chunking,
failing days named, metadata an engineer can act on."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from music_dwh.checks import expectations
from music_dwh.checks.common import reconciliation_result, row_count_band_result
from music_dwh.checks.expectations import Expect, Suite, run_suite
from music_dwh.resources.warehouse import TableWrite

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
    batch = pa.RecordBatch.from_pylist([dict(zip(SCHEMA.names, r, strict=True)) for r in rows], schema=SCHEMA)
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
    monkeypatch.setattr(expectations, "CHUNK_ROWS", chunk_rows)  # one day per chunk, or all together
    _load(warehouse, [(D1, "free", 1), (D2, "premium", 2), (D2, "gold", None), (D3, "paid", 3)])
    with warehouse.session() as s:
        result = run_suite(SUITE, warehouse, s, [D1, D2, D3])
    assert not result.passed
    assert result.metadata["failing_days"].value == "2018-11-02"
    table = result.metadata["expectations"].value
    assert "ExpectColumnValuesToBeInSet(level) | ❌ | 2 |" in table
    assert "premium" in table and "gold" in table
    assert "ExpectColumnValuesToNotBeNull(n) | ❌ | 1 |" in table
    assert result.description == "2 expectation(s) failed on 2018-11-02"


def test_only_the_window_is_judged(warehouse):
    _load(warehouse, [(D1, "premium", 1), (D2, "free", 2)])
    with warehouse.session() as s:
        assert run_suite(SUITE, warehouse, s, [D2]).passed
        assert not run_suite(SUITE, warehouse, s, [D1]).passed


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
