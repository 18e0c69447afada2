"""Backup, restore and rebuild of the DuckDB warehouse.

Fast tests use a small hand-made DuckDB file. The end-to-end tests share one warehouse loaded
from tiny generated data by ``music-dwh load all``: it is backed up and restored, then deleted
and rebuilt from the raw store with ``music-dwh load all``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from music_dwh import backup
from music_dwh.settings import parse_warehouse_url
from music_dwh_tests.conftest import BIN, REPO_ROOT, Workspace, snapshot

SCHEMAS = ("sparkify", "chinook")


def make_warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("""
        create schema sparkify; create schema chinook;
        create table sparkify.songplays (id bigint, start_time timestamp, day date, level varchar);
        insert into sparkify.songplays values (1, '2018-11-01 10:00:00', '2018-11-01', 'free'),
                                              (2, '2018-11-02 11:30:00', '2018-11-02', null);
        create table chinook.fact_invoice (invoice_id integer, total decimal(10, 2));
        insert into chinook.fact_invoice values (1, 1.98), (2, 13.86);
        create view chinook.revenue as select sum(total) as total from chinook.fact_invoice;
    """)
    con.close()


def contents(path: Path) -> dict:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {
            "songplays": con.execute("select * from sparkify.songplays order by id").fetchall(),
            "invoices": con.execute("select * from chinook.fact_invoice order by 1").fetchall(),
            "revenue": con.execute("select * from chinook.revenue").fetchall(),
            "types": con.execute(
                "select table_schema, table_name, column_name, data_type from information_schema.columns "
                "where table_schema in ('sparkify', 'chinook') order by all"
            ).fetchall(),
        }
    finally:
        con.close()


def duckdb_target(path: Path):
    return parse_warehouse_url(f"duckdb:///{path}")


def test_round_trip_keeps_rows_types_and_views(tmp_path):
    source = tmp_path / "warehouse.duckdb"
    make_warehouse(source)
    before = contents(source)
    summary = backup.backup(tmp_path / "bk", duckdb_target(source))
    assert summary.tables == {"chinook.fact_invoice": 2, "sparkify.songplays": 2}
    manifest = json.loads((tmp_path / "bk" / backup.MANIFEST).read_text())
    assert manifest["tables"] == summary.tables
    assert list((tmp_path / "bk").glob("*.parquet"))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers

    restored = tmp_path / "elsewhere" / "restored.duckdb"
    backup.restore(tmp_path / "bk", duckdb_target(restored))
    assert contents(restored) == before
    assert before["invoices"][1] == (2, Decimal("13.86"))
    assert before["songplays"][0][1] == dt.datetime(2018, 11, 1, 10)


def test_restore_over_an_existing_warehouse_needs_force_and_is_atomic(tmp_path):
    source = tmp_path / "warehouse.duckdb"
    make_warehouse(source)
    backup.backup(tmp_path / "bk", duckdb_target(source))
    con = duckdb.connect(str(source))
    con.execute("insert into chinook.fact_invoice values (3, 0.99)")
    con.close()
    changed = contents(source)

    with pytest.raises(backup.BackupError, match="--force"):
        backup.restore(tmp_path / "bk", duckdb_target(source))
    assert contents(source) == changed

    # A damaged backup fails the import: the warehouse is untouched, no temporary file is left.
    damaged = tmp_path / "damaged"
    shutil.copytree(tmp_path / "bk", damaged)
    next(damaged.glob("*fact_invoice*.parquet")).write_bytes(b"not parquet")
    with pytest.raises(backup.BackupError, match="left unchanged"):
        backup.restore(damaged, duckdb_target(source), force=True)
    assert contents(source) == changed
    # A backup whose tables do not match its record is refused too.
    tampered = tmp_path / "tampered"
    shutil.copytree(tmp_path / "bk", tampered)
    manifest = json.loads((tampered / backup.MANIFEST).read_text())
    manifest["tables"]["sparkify.songplays"] = 3
    (tampered / backup.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError, match="do not match"):
        backup.restore(tampered, duckdb_target(source), force=True)
    assert contents(source) == changed
    # Nothing left behind but the writer lock file (empty once released: the lock is the
    # kernel's, on the open file; the file itself stays, as removing it would race).
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "bk",
        "damaged",
        "tampered",
        "warehouse.duckdb",
        "warehouse.duckdb.writer.lock",
    ]
    assert (tmp_path / "warehouse.duckdb.writer.lock").read_text() == ""

    backup.restore(tmp_path / "bk", duckdb_target(source), force=True)
    assert len(contents(source)["invoices"]) == 2


def test_backup_refuses_an_existing_folder_and_a_missing_warehouse(tmp_path):
    source = tmp_path / "warehouse.duckdb"
    with pytest.raises(backup.BackupError, match="no DuckDB warehouse"):
        backup.backup(tmp_path / "bk", duckdb_target(source))
    make_warehouse(source)
    (tmp_path / "bk").mkdir()
    (tmp_path / "bk" / "old.txt").write_text("keep me")
    with pytest.raises(backup.BackupError, match="not an empty folder"):
        backup.backup(tmp_path / "bk", duckdb_target(source))
    assert (tmp_path / "bk" / "old.txt").read_text() == "keep me"
    with pytest.raises(backup.BackupError, match="not a music-dwh backup"):
        backup.restore(tmp_path / "bk", duckdb_target(tmp_path / "new.duckdb"))


@pytest.mark.parametrize(
    "url, advice",
    [
        ("postgresql://etl@db.example.org:5432/dwh", "pg_dump"),
        ("redshift://awsuser@cluster.example.org:5439/dev", "cluster snapshots"),
    ],
)
def test_server_warehouses_are_refused_with_the_tool_to_use(
    tmp_path, monkeypatch, capsys, url, advice
):
    from music_dwh.cli.main import main

    monkeypatch.setenv("MUSIC_DWH_WAREHOUSE", url)
    assert main(["backup", "--to", str(tmp_path / "bk")]) == 2
    assert main(["restore", "--from", str(tmp_path / "bk")]) == 2
    err = capsys.readouterr().err
    assert err.count(advice) == 2
    assert "music-dwh load all" in err
    assert not (tmp_path / "bk").exists()


# ---------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """Tiny raw data for both systems, loaded with `music-dwh load all`, and every table's
    content (load times aside)."""
    root = tmp_path_factory.mktemp("loaded")
    ws = Workspace(
        root=root,
        raw=root / "raw",
        warehouse=root / "warehouse.duckdb",
        dagster_home=root / "dagster",
    )
    ws.raw.mkdir()
    ws.run(
        "music-dwh",
        "generate",
        "sparkify",
        "--days",
        "2",
        "--events-per-day",
        "150",
        "--songs",
        "60",
        "--out",
        str(ws.raw),
    )
    ws.run(
        "music-dwh",
        "generate",
        "chinook",
        "--days",
        "2",
        "--customers",
        "15",
        "--invoices-per-day",
        "2",
        "--out",
        str(ws.raw),
    )
    proc = ws.run("music-dwh", "load", "all")
    assert proc.stdout.count("succeeded") == 2, proc.stdout
    before = {schema: snapshot(ws.warehouse, schema) for schema in SCHEMAS}
    assert before["sparkify"]["songplays"] and before["chinook"]["fact_invoice"]
    return ws, before


@pytest.mark.e2e
def test_two_runs_started_together_on_one_duckdb_file_both_succeed(loaded):
    """Two Dagster runs of different systems, each with a dbt step (dbt-duckdb does not retry a
    locked file), started at the same moment on one DAGSTER_HOME and one DuckDB file by
    ``dagster asset materialize`` (no daemon, no queue: the pool does not apply). The
    warehouse's writer lock, held by each run from its first step to its last, makes them take
    turns, so both succeed; the one that waited said so in its log, and neither claimed a pool
    slot (run granularity), so none is left behind."""
    ws, before = loaded
    shipped = (ws.dagster_home / "dagster.yaml").read_text()
    assert "default_limit: 1" in shipped and "granularity: run" in shipped
    procs = [
        subprocess.Popen(
            [
                str(BIN / "dagster"),
                "asset",
                "materialize",
                "-m",
                "music_dwh.definitions",
                "--select",
                key,
            ],
            cwd=REPO_ROOT,
            env=ws.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for key in ("sparkify/users", "chinook/dim_track")
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for proc, output in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, output[-5000:]
        assert "Could not set lock" not in output and "RUN_SUCCESS" in output
    from dagster import DagsterInstance

    instance = DagsterInstance.from_config(str(ws.dagster_home))
    try:
        records = [
            r for r in instance.get_run_records() if "music_dwh/command" not in r.dagster_run.tags
        ]
        logs = {
            r.dagster_run.run_id: "\n".join(
                e.message for e in instance.all_logs(r.dagster_run.run_id)
            )
            for r in records
        }
        held = instance.event_log_storage.get_concurrency_run_ids()
    finally:
        instance.dispose()
    assert len(records) == 2 and all(r.dagster_run.status.value == "SUCCESS" for r in records)
    (a, b) = records
    assert a.start_time < b.end_time and b.start_time < a.end_time  # they really overlapped
    waited = [run_id for run_id, text in logs.items() if "waiting for the warehouse" in text]
    assert len(waited) == 1, "exactly one run waited for the other's writer lock"
    assert not held & set(logs), "no pool slot claimed or left behind by these runs"
    assert {schema: snapshot(ws.warehouse, schema) for schema in SCHEMAS} == before  # idempotent


@pytest.mark.e2e
def test_backup_then_restore_gives_back_every_table(loaded, tmp_path):
    ws, before = loaded
    proc = ws.run("music-dwh", "backup", "--to", str(tmp_path / "bk"))
    assert "backup written to" in proc.stdout
    restored_ws = dataclasses.replace(ws, warehouse=tmp_path / "restored.duckdb")
    restored_ws.run("music-dwh", "restore", "--from", str(tmp_path / "bk"))
    assert {schema: snapshot(restored_ws.warehouse, schema) for schema in SCHEMAS} == before
    again = restored_ws.run("music-dwh", "restore", "--from", str(tmp_path / "bk"), check=False)
    assert again.returncode == 2 and "--force" in again.stderr
    restored_ws.run("music-dwh", "restore", "--from", str(tmp_path / "bk"), "--force")
    assert {schema: snapshot(restored_ws.warehouse, schema) for schema in SCHEMAS} == before


@pytest.mark.e2e
def test_a_deleted_warehouse_is_rebuilt_from_the_raw_store(loaded):
    ws, before = loaded
    ws.warehouse.unlink()
    assert not ws.warehouse.exists()
    proc = ws.run("music-dwh", "load", "all")
    assert proc.stdout.count("succeeded") == 2
    after = {schema: snapshot(ws.warehouse, schema) for schema in SCHEMAS}
    for schema in SCHEMAS:
        assert sorted(after[schema]) == sorted(before[schema])
        for table in before[schema]:
            assert after[schema][table] == before[schema][table], (
                f"{schema}.{table} differs after the rebuild"
            )
