"""The DuckDB loader: atomic partition replacement on a real DuckDB file."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from music_dwh.resources.warehouse import TableWrite, WarehouseError

SCHEMA = pa.schema([("day", pa.date32()), ("n", pa.int64()), ("amount", pa.decimal128(10, 2))])


def _batch(day, values):
    from decimal import Decimal

    return pa.RecordBatch.from_arrays(
        [
            pa.array([day] * len(values), pa.date32()),
            pa.array(values, pa.int64()),
            pa.array([Decimal(v) / 100 for v in values], pa.decimal128(10, 2)),
        ],
        schema=SCHEMA,
    )


def test_replacing_a_partition_keeps_the_others_and_exact_decimals(warehouse):
    d1, d2 = dt.date(2018, 11, 1), dt.date(2018, 11, 2)
    with warehouse.session() as s:
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d1, [1, 2, 3])], {"day": d1})])
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d2, [4])], {"day": d2})])
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d1, [7, 8])], {"day": d1})])
        rows = s.query("select day, n, amount from t.facts order by n")
    assert [(r[0], r[1]) for r in rows] == [(d2, 4), (d1, 7), (d1, 8)]
    assert str(rows[1][2]) == "0.07"


def test_a_failing_load_leaves_the_old_partition(warehouse):
    d1 = dt.date(2018, 11, 1)

    def exploding():
        yield _batch(d1, [10, 11])
        raise RuntimeError("killed mid-load")

    with warehouse.session() as s:
        s.write([TableWrite("t.facts", SCHEMA, [_batch(d1, [1, 2])], {"day": d1})])
        with pytest.raises(RuntimeError, match="killed"):
            s.write([TableWrite("t.facts", SCHEMA, exploding(), {"day": d1})])
        assert s.query("select n from t.facts order by n") == [(1,), (2,)]


def test_schema_drift_is_a_clear_error(warehouse):
    with warehouse.session() as s:
        s.write([TableWrite("t.facts", SCHEMA, [_batch(dt.date(2018, 11, 1), [1])])])
        other = pa.schema([("day", pa.date32()), ("m", pa.int64())])
        with pytest.raises(WarehouseError, match="drop table t.facts"):
            s.write([TableWrite("t.facts", other, [])])


def test_a_second_writer_waits_then_says_what_to_do(warehouse, monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("MUSIC_DWH_LOCK_TIMEOUT", "0.5")
    path = warehouse.target.path
    path.parent.mkdir(parents=True, exist_ok=True)
    # DuckDB refuses a lock held by another *process*, so hold it in one.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(WarehouseError, match="one writer"), warehouse.session():
            pass
    finally:
        holder.kill()
        holder.wait()


def test_the_memory_limit_applies_to_the_loader_and_to_dbt(warehouse, monkeypatch, tmp_path):
    """Both processes that open the file (the run and dbt) get MUSIC_DWH_DUCKDB_MEMORY_LIMIT,
    instead of DuckDB's default of 80 % of the machine each."""
    import os
    import subprocess

    from music_dwh.dbt_project import DBT_EXECUTABLE, SQL_DIR

    monkeypatch.setenv("MUSIC_DWH_DUCKDB_MEMORY_LIMIT", "300MB")
    with warehouse.session() as s:
        ((limit,),) = s.query("select current_setting('memory_limit')")
    assert limit.replace(" ", "") == "286.1MiB"  # 300 MB, reported in MiB
    proc = subprocess.run(
        [DBT_EXECUTABLE, "show", "--inline", "select current_setting('memory_limit') as memory_limit",
         "--project-dir", str(SQL_DIR), "--profiles-dir", str(SQL_DIR), "--target-path", str(tmp_path / "t"),
         "--log-path", str(tmp_path / "logs"), "--no-partial-parse"],
        env={**os.environ, **warehouse.dbt_env()}, cwd=SQL_DIR, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "286.1 MiB" in proc.stdout, proc.stdout[-2000:]
