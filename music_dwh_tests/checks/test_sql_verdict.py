"""The warehouse's verdict (music_dwh/checks/sql_verdict.py) against great-expectations
itself: on seeded data around every edge, SQL never passes what GX fails, on DuckDB (GX on
pandas frames) and on PostgreSQL (GX's SQL path)."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from music_dwh.checks import gx_validation
from music_dwh.checks.gx_validation import CHEAP, judge_for
from music_dwh.checks.sql_verdict import SqlVerdict, mostly_success
from music_dwh.checks.suite import Expect, Suite
from music_dwh.resources.warehouse import TableWrite

D1 = dt.date(2018, 11, 1)
DIFF_SCHEMA = pa.schema(
    [
        ("partition_date", pa.date32()),
        ("s", pa.string()),
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("k", pa.string()),
        ("k2", pa.int64()),
    ]
)
DIFF_SUITE = Suite(
    name="t_diff",
    table="t.diff",
    partition_column="partition_date",
    blocking=False,
    expectations=(
        Expect("ExpectColumnValuesToNotBeNull", {"column": "s"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "f"}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "f", "mostly": 0.9}),
        Expect("ExpectColumnValuesToNotBeNull", {"column": "i", "mostly": 0.8}),
        Expect(
            "ExpectColumnValuesToBeInSet", {"column": "s", "value_set": ["free", "paid", "it's"]}
        ),
        Expect(
            "ExpectColumnValuesToBeInSet",
            {"column": "s", "value_set": ["free", "paid"], "mostly": 0.7},
        ),
        Expect("ExpectColumnValuesToBeInSet", {"column": "i", "value_set": [1, 2, 3]}),
        Expect("ExpectColumnValuesToBeInSet", {"column": "i", "value_set": [1, 2], "mostly": 0.6}),
        Expect(
            "ExpectColumnValuesToBeInSet", {"column": "f", "value_set": [1.0, 2.5], "mostly": 0.5}
        ),
        Expect("ExpectColumnValuesToBeBetween", {"column": "f", "min_value": 1, "max_value": 3600}),
        Expect(
            "ExpectColumnValuesToBeBetween",
            {"column": "f", "min_value": 1, "max_value": 3600, "mostly": 0.8},
        ),
        Expect("ExpectColumnValuesToBeBetween", {"column": "i", "min_value": 0}),
        Expect("ExpectColumnValuesToBeBetween", {"column": "f", "max_value": 10.5, "mostly": 0.5}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "k"}),
        Expect("ExpectColumnValuesToBeUnique", {"column": "i"}),
        Expect("ExpectCompoundColumnsToBeUnique", {"column_list": ["k", "k2"]}),
    ),
)


def _diff_rows(days: int, nan_from: int) -> list[tuple]:
    """Seeded rows around every rule's edges: nulls, strings that only look alike, bounds,
    infinities, duplicated keys, partly missing compound keys; NaN only from day ``nan_from``."""
    import random

    rng = random.Random(20181101)
    rows = []
    for n in range(days):
        day = D1 + dt.timedelta(days=n)
        size = rng.choice([0, 1, 3, 10, 25])
        for j in range(size):
            floats = [None, 0.5, 1, 1.0, 2.5, 3600, 3600.5, 10.5, float("inf"), -float("inf"), 42.0]
            if n >= nan_from:
                floats.append(float("nan"))
            rows.append(
                (
                    day,
                    rng.choice(
                        [None, "free", "paid", "Free", "free ", "", "NaN", "it's", "paid"]
                        + ["free"] * 6
                    ),
                    rng.choice([None, 1, 2, 3, -1, 7] + [1] * 4),
                    rng.choice(floats + [2.5] * 4),
                    rng.choice([None, "dup", "dup", f"k{j}"] if rng.random() < 0.3 else [f"k{j}"]),
                    rng.choice([None, 1, 1, j]),
                )
            )
    return rows


def _sql_and_gx_verdicts(warehouse, days):
    """(day, expectation) → (passes in SQL, passes in GX), each day judged alone."""
    session_verdicts = {}
    with warehouse.session() as s:
        verdict = SqlVerdict(DIFF_SUITE, s)
        assert set(verdict.counted) == set(range(len(DIFF_SUITE.expectations)))  # all translated
        judge = judge_for(DIFF_SUITE, warehouse, s)
        for day in days:
            counts = verdict.per_day((day, day)).get(day, {})
            duplicated = verdict.duplicated_keys((day, day))
            gx = judge.validate((day, day), range(len(DIFF_SUITE.expectations)), CHEAP)
            for i, expect in enumerate(DIFF_SUITE.expectations):
                if i in duplicated:
                    sql = duplicated[i] == 0
                else:
                    considered, unexpected = counts.get(i, (0, 0))
                    sql = mostly_success(considered, unexpected, expect.kwargs.get("mostly", 1.0))
                session_verdicts[(day, i)] = (sql, gx[i]["success"])
    return session_verdicts


def test_the_warehouse_verdict_agrees_with_great_expectations(warehouse):
    """On seeded data around every edge, each day judged alone by the SQL counts and by GX on
    the same rows: the same verdict for every expectation where there is no NaN, and where
    there is (pandas calls NaN missing), SQL is never the more lenient: it never passes what GX
    fails (a SQL failure is then re-judged by GX)."""
    days = [D1 + dt.timedelta(days=n) for n in range(40)]
    rows = _diff_rows(len(days), nan_from=30)
    batch = pa.RecordBatch.from_pylist(
        [dict(zip(DIFF_SCHEMA.names, r, strict=True)) for r in rows], schema=DIFF_SCHEMA
    )
    with warehouse.session() as s:
        s.write([TableWrite("t.diff", DIFF_SCHEMA, [batch])])
    verdicts = _sql_and_gx_verdicts(warehouse, days)
    lenient = [
        (d, DIFF_SUITE.expectations[i].label)
        for (d, i), (sql, gx) in verdicts.items()
        if sql and not gx
    ]
    assert lenient == []
    differ = [
        (d, DIFF_SUITE.expectations[i].label)
        for (d, i), (sql, gx) in verdicts.items()
        if sql != gx and d < days[30]
    ]
    assert differ == []
    # The data exercised both outcomes of every expectation.
    for i, expect in enumerate(DIFF_SUITE.expectations):
        outcomes = {gx for (d, j), (_, gx) in verdicts.items() if j == i and d < days[30]}
        assert outcomes == {True, False}, expect.label


def test_the_warehouse_verdict_agrees_with_great_expectations_on_postgres(
    postgres_server, monkeypatch
):
    """The same on PostgreSQL, against GX's SQL path (where NaN is a value, not missing)."""
    from music_dwh.resources.warehouse import Warehouse

    monkeypatch.setenv("MUSIC_DWH_WAREHOUSE_PASSWORD", postgres_server.password)
    warehouse = Warehouse(
        url=postgres_server.url(postgres_server.create_database()),
        password=postgres_server.password,
    )
    days = [D1 + dt.timedelta(days=n) for n in range(16)]
    rows = _diff_rows(len(days), nan_from=12)
    batch = pa.RecordBatch.from_pylist(
        [dict(zip(DIFF_SCHEMA.names, r, strict=True)) for r in rows], schema=DIFF_SCHEMA
    )
    with warehouse.session() as s:
        s.write([TableWrite("t.diff", DIFF_SCHEMA, [batch])])
    gx_validation._gx_context.cache_clear()
    try:
        verdicts = _sql_and_gx_verdicts(warehouse, days)
    finally:
        gx_validation._gx_context.cache_clear()
    assert [k for k, (sql, gx) in verdicts.items() if sql and not gx] == []
    assert [k for k, (sql, gx) in verdicts.items() if sql != gx and k[0] < days[12]] == []
    assert {gx for _, gx in verdicts.values()} == {True, False}
