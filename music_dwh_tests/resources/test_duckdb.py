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


def test_many_partition_writes_of_a_table_give_what_one_at_a_time_gives(warehouse, monkeypatch):
    """Partition writes that declare their rows in their partition are applied a table at a
    time (one delete, few inserts); interleaved tables, a repeated day, a whole-table write
    and an undeclared write in between must leave exactly what applying each in turn leaves."""
    from music_dwh.resources import duckdb as engine

    monkeypatch.setattr(engine, "MERGED_INSERT_ROWS", 3)  # several inserts per group too
    days = [dt.date(2018, 11, 1) + dt.timedelta(days=i) for i in range(6)]

    def writes():
        out = []
        for i, day in enumerate(days):
            for table in ("t.a", "t.b"):
                out.append(TableWrite(table, SCHEMA, [_batch(day, [i, 10 + i]), _batch(day, [])],
                                      {"day": day}, rows_in_partition=True))  # fmt: skip
        out.append(TableWrite("t.a", SCHEMA, [_batch(days[1], [99])], {"day": days[1]},
                              rows_in_partition=True))  # fmt: skip
        # not declared: its rows fall in another day's partition
        out.append(TableWrite("t.b", SCHEMA, [_batch(days[1], [77])], {"day": days[0]}))
        out += [TableWrite("t.b", SCHEMA, [_batch(day, [50 + i])], {"day": day},
                           rows_in_partition=True) for i, day in enumerate(days[3:])]  # fmt: skip
        out.append(TableWrite("t.c", SCHEMA, [_batch(days[0], [5])]))
        out.append(TableWrite("t.c", SCHEMA, [_batch(days[2], [6])], {"day": days[2]},
                              rows_in_partition=True))  # fmt: skip
        return out

    assert [len(g) for g in engine._merged(writes())] == [6, 6, 1, 1, 3, 1, 1]
    with warehouse.session() as s:
        for table in ("t.a", "t.b", "t.c"):  # earlier rows, some replaced, some kept
            s.write([TableWrite(table, SCHEMA, [_batch(d, [-1]) for d in days], None)])
        before = {t: s.query(f"select * from {t} order by all") for t in ("t.a", "t.b", "t.c")}
        merged = writes()
        s.write(merged)
        together = {t: s.query(f"select * from {t} order by all") for t in ("t.a", "t.b", "t.c")}
        assert [w.rows_written for w in merged][:3] == [2, 2, 2]
        for table, rows in before.items():  # back to the start, then one write at a time
            s.write([TableWrite(table, SCHEMA, [pa.Table.from_pylist(
                [dict(zip(SCHEMA.names, r, strict=True)) for r in rows], SCHEMA)])])  # fmt: skip
        for w in writes():
            s.write([w])
        one_by_one = {t: s.query(f"select * from {t} order by all") for t in ("t.a", "t.b", "t.c")}
    assert together == one_by_one
    assert (days[1], 77) in [(r[0], r[1]) for r in together["t.b"]]  # the undeclared write's row
    assert (days[1], 1) not in [(r[0], r[1]) for r in together["t.a"]]  # replaced by the repeat


def test_every_session_query_can_follow_any_other(warehouse):
    """DuckDB refuses a query while an earlier result of the connection is unread: a report
    step whose first query followed a table lookup failed that way."""
    with warehouse.session() as session:
        session.ensure_table("sparkify.t", pa.schema([("a", pa.int64())]))
        assert session.table_exists("sparkify.t")
        assert session.query_arrow("select 1 as one").to_pylist() == [{"one": 1}]
        assert session.count_rows("sparkify.t") == 0
        assert session.query_arrow("select 2 as two").to_pylist() == [{"two": 2}]
