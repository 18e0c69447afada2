"""The Dagster instance music_dwh ships (music_dwh/instance/, dagster.yaml): SQLite storage in
DAGSTER_HOME with synchronous=NORMAL connections and batched event writes, or PostgreSQL storage
selected by MUSIC_DWH_DAGSTER_STORAGE, tested against the real server of ``postgres_server``.

Fast tests build instances from the shipped ``dagster.yaml`` copied into a temporary folder and
run a tiny partitioned job in process. The end-to-end test runs ``music-dwh load chinook`` with
its runs and events in PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from dagster import (
    AssetCheckResult,
    AssetKey,
    BackfillPolicy,
    DagsterEventType,
    DagsterInstance,
    DailyPartitionsDefinition,
    Definitions,
    EventRecordsFilter,
    Failure,
    MaterializeResult,
    asset,
    asset_check,
)
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from music_dwh.instance.batches import EVENT_BATCH_SIZE
from music_dwh.instance.postgres_storage import BatchingPostgresEventLogStorage
from music_dwh.instance.prune import checkpoint, instance_bytes
from music_dwh.instance.sqlite_storage import PAGE_SIZE, BatchingSqliteEventLogStorage
from music_dwh.settings import SettingsError, instance_storage, parse_instance_storage
from music_dwh_tests.conftest import REPO_ROOT, Workspace, require_shared

SHIPPED_YAML = REPO_ROOT / "dagster.yaml"
MB = 1_000_000
DAYS = DailyPartitionsDefinition(start_date="2024-01-01")
STORAGE_VARIABLES = (
    "MUSIC_DWH_DAGSTER_STORAGE",
    "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD",
    "DAGSTER_EVENT_BATCH_SIZE",
    "PGPASSWORD",
    "PGPASSFILE",
)


@asset(partitions_def=DAYS, backfill_policy=BackfillPolicy.single_run())
def daily(context) -> MaterializeResult:
    if context.run.tags.get("fail") == "yes":
        raise Failure("asked to fail")
    return MaterializeResult(metadata={"days": len(context.partition_keys)})


@asset_check(asset=daily)
def daily_is_fine() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


@asset_check(asset=daily, partitions_def=DAYS)
def each_day_is_fine() -> AssetCheckResult:
    return AssetCheckResult(passed=True)


DEFS = Definitions(assets=[daily], asset_checks=[daily_is_fine, each_day_is_fine])


def run_range(instance: DagsterInstance, first: str, last: str, fail: bool = False):
    job = DEFS.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: first,
            ASSET_PARTITION_RANGE_END_TAG: last,
            **({"fail": "yes"} if fail else {}),
        },
        raise_on_error=False,
    )


@pytest.fixture
def clean_env(monkeypatch):
    for name in STORAGE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def shipped_home(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED_YAML, folder / "dagster.yaml")  # the file as shipped
    return folder


@pytest.fixture
def sqlite_instance(tmp_path, clean_env):
    instance = DagsterInstance.from_config(str(shipped_home(tmp_path / "home")))
    try:
        yield instance
    finally:
        instance.dispose()


def facts(instance: DagsterInstance) -> dict:
    """What the UI and the automation read back from the event log, per asset and partition."""
    key = AssetKey("daily")
    materializations = instance.fetch_materializations(key, limit=1000).records
    planned = instance.get_event_records(
        EventRecordsFilter(event_type=DagsterEventType.ASSET_MATERIALIZATION_PLANNED, asset_key=key)
    )
    record = instance.get_asset_records([key])[0].asset_entry
    last_run = instance.get_run_records()[0].dagster_run.run_id
    checks = [
        record
        for check_key in DEFS.resolve_asset_graph().asset_check_keys
        for record in instance.event_log_storage.get_asset_check_execution_history(
            check_key, limit=100
        )
    ]
    return {
        "materialized": sorted(instance.get_materialized_partitions(key)),
        "materializations per day": sorted(r.partition_key for r in materializations),
        "planned per day": sorted(r.partition_key for r in planned),
        "failed or in progress": sorted(
            instance.event_log_storage.get_latest_asset_partition_materialization_attempts_without_materializations(
                key
            )
        ),
        "latest materialization": record.last_materialization_record.partition_key,
        "last run is the latest": record.last_run_id
        == instance.get_run_records()[0].dagster_run.run_id,
        "check executions": sorted(
            (c.key.name, c.partition or "", c.status.value, c.run_id == last_run) for c in checks
        ),
        "data versions": len(
            instance.event_log_storage.get_latest_tags_by_partition(
                key, DagsterEventType.ASSET_MATERIALIZATION, ["dagster/data_version"]
            )
        ),
    }


# ---------------------------------------------------------------------------- SQLite
def test_the_shipped_dagster_yaml_makes_music_dwhs_sqlite_storage_in_its_own_folder(
    sqlite_instance, tmp_path
):
    instance = sqlite_instance
    assert type(instance).__name__ == "MusicDwhInstance"
    assert type(instance._event_storage).__name__ == "BatchingSqliteEventLogStorage"
    assert instance.get_ref().storage_data.config_yaml == f"base_dir: {tmp_path / 'home'}\n"
    # Dagster's own settings from the same file still apply.
    assert instance.run_monitoring_settings["poll_interval_seconds"] == 10
    assert type(instance.run_coordinator).__name__ == "PoolQueueRunCoordinator"
    # Dagster's on-disk layout, unchanged.
    home = tmp_path / "home"
    assert (home / "history" / "runs.db").is_file() and (
        home / "schedules" / "schedules.db"
    ).is_file()
    assert (home / "history" / "runs" / "index.db").is_file()


def test_every_connection_the_sqlite_storage_opens_runs_with_synchronous_normal(sqlite_instance):
    NORMAL, WAL = 1, "wal"  # SQLite's default is FULL (2): an fsync per commit
    events = sqlite_instance.event_log_storage
    connections = {
        "event log index": events.index_connection(),
        "a run's event log": events.run_connection("a-run-id"),
        "runs": sqlite_instance.run_storage.connect(),
        "schedules": sqlite_instance.schedule_storage.connect(),
    }
    for name, connection in connections.items():
        with connection as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == NORMAL, name
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == WAL, name


def test_events_are_batched_unless_dagster_event_batch_size_says_otherwise(
    sqlite_instance, clean_env
):
    assert sqlite_instance._get_event_batch_size() == EVENT_BATCH_SIZE
    clean_env.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    assert sqlite_instance._get_event_batch_size() == 0


@pytest.mark.parametrize("storage", ["sqlite", "postgres"])
def test_batched_writes_leave_the_same_history_as_one_transaction_per_event(
    storage, tmp_path, clean_env, request
):
    """The same runs (a 5-day range, then a failed 2-day range over one loaded and one new day)
    with batches and with one write per event give the same materializations, planned events,
    failed partitions, asset row, check history and data versions."""
    event_log = {
        "sqlite": BatchingSqliteEventLogStorage,
        "postgres": BatchingPostgresEventLogStorage,
    }[storage]
    calls = []
    store_batch = event_log.store_event_batch

    def counting(self, events):
        calls.append(len(events))
        return store_batch(self, events)

    clean_env.setattr(event_log, "store_event_batch", counting)
    results = {}
    for batch_size in ("1000", "0"):
        clean_env.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
        if storage == "postgres":
            server = request.getfixturevalue("postgres_server")
            clean_env.setenv("MUSIC_DWH_DAGSTER_STORAGE", server.url(server.create_database()))
            clean_env.setenv("MUSIC_DWH_DAGSTER_STORAGE_PASSWORD", server.password)
        calls.clear()
        instance = DagsterInstance.from_config(str(shipped_home(tmp_path / batch_size)))
        try:
            assert type(instance.event_log_storage) is event_log
            assert run_range(instance, "2024-01-01", "2024-01-05").success
            assert not run_range(instance, "2024-01-05", "2024-01-06", fail=True).success
            results[batch_size] = facts(instance)
        finally:
            instance.dispose()
        if batch_size == "0":
            assert calls == []
        else:  # planned (5 days + 2 checks, then 2 + 2) and materialized (5) as batches
            assert sorted(calls) == [4, 5, 7]
    assert results["1000"] == results["0"]
    assert results["0"]["materialized"] == [
        "2024-01-01",
        "2024-01-02",
        "2024-01-03",
        "2024-01-04",
        "2024-01-05",
    ]
    assert results["0"]["failed or in progress"] == ["2024-01-05", "2024-01-06"]


def test_history_written_by_dagsters_default_storage_stays_readable(tmp_path, clean_env):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")  # Dagster's defaults
    before = DagsterInstance.from_config(str(home))
    try:
        run_id = run_range(before, "2024-01-01", "2024-01-03").run_id
        expected = facts(before)
    finally:
        before.dispose()
    shutil.copy(SHIPPED_YAML, home / "dagster.yaml")
    after = DagsterInstance.from_config(str(home))
    try:
        assert type(after).__name__ == "MusicDwhInstance"
        assert [r.dagster_run.run_id for r in after.get_run_records()] == [run_id]
        assert facts(after) == expected
        assert run_range(after, "2024-01-04", "2024-01-04").success
        assert after.get_materialized_partitions(AssetKey("daily")) == {
            f"2024-01-0{d}" for d in range(1, 5)
        }
    finally:
        after.dispose()


# ---------------------------------------------------------------------------- size on disk
def test_a_range_runs_planned_check_rows_hold_the_planned_event_once(sqlite_instance):
    """A row per check and day (each day's check status), the serialized planned event on the
    last one only: the row Dagster reads as the check's latest while the run goes on."""
    assert run_range(sqlite_instance, "2024-01-01", "2024-01-31").success
    january = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(31)]
    storage = sqlite_instance.event_log_storage
    for check_key in DEFS.resolve_asset_graph().asset_check_keys:
        history = storage.get_asset_check_execution_history(check_key, limit=100)
        planned = [r for r in history if r.status.value == "PLANNED"]
        assert sorted(r.partition for r in planned) == january
        assert [r.partition for r in planned if r.event is not None] == ["2024-01-31"]
        assert history[0].status.value == "SUCCEEDED" and history[0].event is not None


def test_new_event_log_files_have_8_kb_pages_and_a_checkpoint_empties_their_wal(
    sqlite_instance, clean_env
):
    import sqlite3

    assert run_range(sqlite_instance, "2024-01-01", "2024-01-05").success
    home = Path(sqlite_instance.root_directory)
    files = sorted((home / "history" / "runs").glob("*.db"))
    assert [f.name for f in files] == sorted(
        [f"{sqlite_instance.get_runs()[0].run_id}.db", "index.db"]
    )
    for path in files:
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE == 8192
        conn.close()
    wal = [p for p in home.rglob("*.db-wal") if p.stat().st_size]
    assert wal  # the instance keeps its files open: nothing was copied back yet
    clean_env.setenv("MUSIC_DWH_DAGSTER_STORAGE", "postgresql://dagster@127.0.0.1:9/dagster")
    checkpoint(home)  # the instance is in PostgreSQL: files left in DAGSTER_HOME are not its own
    assert [p for p in home.rglob("*.db-wal") if p.stat().st_size] == wal
    clean_env.delenv("MUSIC_DWH_DAGSTER_STORAGE")
    checkpoint(home)
    assert {p.stat().st_size for p in home.rglob("*.db-wal")} == {0}
    assert sorted(sqlite_instance.get_materialized_partitions(AssetKey("daily"))) == [
        f"2024-01-0{d}" for d in range(1, 6)
    ]


@pytest.mark.e2e
@pytest.mark.acceptance
def test_the_public_chinook_history_costs_the_instance_about_dagsters_floor_per_day(workspace):
    """1,817 days × 5 daily assets: per asset and day Dagster records a planned event and a
    materialization, each in the run's file and in the index (≈10 KB together, the largest
    part Dagster's own envelope and data-version tags): nothing of ours may add much to that
    (a preview or schema per day did: 174 MB), and no WAL is left behind. The issue's 10 MB
    for this load is below Dagster's floor (see the README, "Pruning the instance")."""
    chinook = require_shared("chinook", "Chinook_Sqlite.sqlite")
    workspace.run("music-dwh", "export-chinook", "--sqlite", str(chinook))
    workspace.run("music-dwh", "prepare")
    before = instance_bytes(workspace.dagster_home)
    workspace.run("music-dwh", "load", "chinook", timeout=900)
    added = instance_bytes(workspace.dagster_home) - before
    asset_days = 1_817 * 5
    assert added / asset_days < 12_000, f"{added / MB:.1f} MB, {added / asset_days:,.0f} B a day"
    assert [p for p in workspace.dagster_home.rglob("*.db-wal") if p.stat().st_size] == []


@pytest.mark.e2e
def test_300_generated_sparkify_days_leave_an_instance_smaller_than_the_warehouse(workspace):
    """The generator's default 1,000 events a day: the instance grows with the days (8 daily
    assets × 300), the warehouse with the events, so fewer events a day would test the
    generator's settings rather than the instance."""
    workspace.run("music-dwh", "generate", "sparkify", "--days", "300")
    workspace.run("music-dwh", "load", "sparkify", timeout=900)
    instance = instance_bytes(workspace.dagster_home)
    warehouse = workspace.warehouse.stat().st_size
    assert instance < warehouse, (
        f"instance {instance / MB:.1f} MB, warehouse {warehouse / MB:.1f} MB"
    )


# ---------------------------------------------------------------------------- the setting
def test_the_setting_selects_sqlite_by_default_or_a_postgresql_database():
    assert instance_storage({}).engine == "sqlite"
    assert instance_storage({"MUSIC_DWH_DAGSTER_STORAGE": "SQLite"}).engine == "sqlite"
    target = parse_instance_storage("postgres://dagster@db.internal:6543/runs?sslmode=require")
    assert (target.engine, target.host, target.port, target.user, target.database) == (
        "postgres",
        "db.internal",
        6543,
        "dagster",
        "runs",
    )
    assert (
        target.sqlalchemy_url()
        == "postgresql+psycopg2://dagster@db.internal:6543/runs?sslmode=require"
    )
    assert target.redacted() == "postgresql://dagster@db.internal:6543/runs"


@pytest.mark.parametrize(
    "value, message",
    [
        ("postgresql://dagster:hunter2@db/runs", "must not contain a password"),
        ("mysql://dagster@db/runs", "not a supported instance storage"),
        ("postgresql://dagster@db:54x/runs", "no valid port"),
    ],
)
def test_setting_mistakes_are_one_line_naming_the_variable(value, message):
    with pytest.raises(SettingsError) as error:
        parse_instance_storage(value)
    text = str(error.value)
    assert message in text and "MUSIC_DWH_DAGSTER_STORAGE" in text and "hunter2" not in text


# ---------------------------------------------------------------------------- PostgreSQL
@pytest.fixture
def pg_storage(postgres_server, clean_env):
    """A fresh database for the instance, selected by the setting, password in its variable."""
    database = postgres_server.create_database()
    clean_env.setenv("MUSIC_DWH_DAGSTER_STORAGE", postgres_server.url(database))
    clean_env.setenv("MUSIC_DWH_DAGSTER_STORAGE_PASSWORD", postgres_server.password)
    return database


def test_the_setting_puts_runs_and_events_in_postgresql_without_the_password(
    pg_storage, postgres_server, tmp_path
):
    home = shipped_home(tmp_path / "home")
    instance = DagsterInstance.from_config(str(home))
    try:
        assert type(instance._event_storage).__name__ == "BatchingPostgresEventLogStorage"
        result = run_range(instance, "2024-01-01", "2024-01-31")
        assert result.success
        january = [(dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat() for i in range(31)]
        assert sorted(instance.get_materialized_partitions(AssetKey("daily"))) == january
        ref = instance.get_ref()
        from dagster._serdes import serialize_value

        assert postgres_server.password not in serialize_value(ref)  # what run processes receive
    finally:
        instance.dispose()
    con = postgres_server.connect(pg_storage)
    try:
        with con.cursor() as cur:
            cur.execute("select count(*) from runs where run_id = %s", [result.run_id])
            assert cur.fetchone()[0] == 1
            cur.execute(
                "select count(*) from event_logs where run_id = %s and dagster_event_type = %s",
                [result.run_id, "ASSET_MATERIALIZATION_PLANNED"],
            )
            assert cur.fetchone()[0] == 31
    finally:
        con.close()
    assert not (home / "history").exists()  # nothing went to SQLite
    assert not any(
        postgres_server.password in p.read_text(errors="replace")
        for p in home.rglob("*")
        if p.is_file()
    )


def test_postgresql_sessions_are_pooled_commit_without_waiting_for_the_disk_and_survive_a_fork(
    pg_storage, tmp_path
):
    import os

    instance = DagsterInstance.from_config(str(shipped_home(tmp_path / "home")))
    try:
        for connect in (
            instance.event_log_storage.index_connection,
            instance.run_storage.connect,
            instance.schedule_storage.connect,
        ):
            with connect() as conn:
                assert conn.exec_driver_sql("show synchronous_commit").scalar() == "off"
                backend = conn.exec_driver_sql("select pg_backend_pid()").scalar()
            with connect() as conn:  # the same session again, not a new connection
                assert conn.exec_driver_sql("select pg_backend_pid()").scalar() == backend
        run_id = run_range(instance, "2024-01-01", "2024-01-02").run_id
        child = os.fork()
        if child == 0:  # a forked process opens its own connections
            try:
                ok = [r.dagster_run.run_id for r in instance.get_run_records()] == [run_id]
            finally:
                os._exit(0 if ok else 1)
        assert os.waitpid(child, 0)[1] == 0
        assert [r.dagster_run.run_id for r in instance.get_run_records()] == [run_id]
    finally:
        instance.dispose()


def test_without_the_password_variable_libpqs_own_sources_apply(
    pg_storage, postgres_server, tmp_path, clean_env
):
    clean_env.delenv("MUSIC_DWH_DAGSTER_STORAGE_PASSWORD")
    clean_env.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))
    clean_env.setenv("PGPASSWORD", postgres_server.password)
    instance = DagsterInstance.from_config(str(shipped_home(tmp_path / "home")))
    try:
        assert run_range(instance, "2024-01-01", "2024-01-02").success
    finally:
        instance.dispose()


def test_a_refused_instance_database_is_one_line_naming_the_settings(
    pg_storage, postgres_server, workspace
):
    env = {
        **workspace.env,
        "MUSIC_DWH_DAGSTER_STORAGE": postgres_server.url(pg_storage),
        "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD": "wrong-" + postgres_server.password,
        "PGPASSFILE": str(workspace.root / "no-such-pgpass"),
    }
    import subprocess

    from music_dwh_tests.conftest import BIN

    proc = subprocess.run(
        [str(BIN / "music-dwh"), "load", "chinook", "--start", "2021-01-01", "--end", "2021-01-02"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD" in line and "password authentication failed" in line
    assert postgres_server.password not in line


@pytest.mark.e2e
def test_music_dwh_load_records_its_run_in_postgresql(
    pg_storage, postgres_server, workspace: Workspace
):
    workspace.run(
        "music-dwh",
        "generate",
        "chinook",
        "--days",
        "20",
        "--customers",
        "15",
        "--invoices-per-day",
        "2",
        "--out",
        str(workspace.raw),
    )
    env = {
        **workspace.env,
        "MUSIC_DWH_DAGSTER_STORAGE": postgres_server.url(pg_storage),
        "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD": postgres_server.password,
    }
    import subprocess

    from music_dwh_tests.conftest import BIN

    proc = subprocess.run(
        [str(BIN / "music-dwh"), "load", "chinook"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    instance = DagsterInstance.from_config(str(workspace.dagster_home))
    try:
        (record,) = instance.get_run_records()
        assert record.dagster_run.status.value == "SUCCESS" and record.dagster_run.run_id in output
        first, last = (
            dt.date.fromisoformat(record.dagster_run.tags[tag])
            for tag in (ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG)
        )
        staged = instance.get_materialized_partitions(AssetKey(["chinook", "staging_invoice"]))
        assert len(staged) == (last - first).days + 1 >= 15  # one per day of the range
        logs = instance.all_logs(record.dagster_run.run_id)
        assert (
            sum(1 for e in logs if e.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION)
            > 10
        )
        text = "\n".join(e.message or "" for e in logs)
    finally:
        instance.dispose()
    con = postgres_server.connect(pg_storage)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select count(*) from event_logs where run_id = %s", [record.dagster_run.run_id]
            )
            assert cur.fetchone()[0] > 100
    finally:
        con.close()
    assert not (workspace.dagster_home / "history").exists()
    files = [
        p for p in workspace.root.rglob("*") if p.is_file() and p.suffix not in (".duckdb", ".wal")
    ]
    assert postgres_server.password not in output and postgres_server.password not in text
    assert not [p for p in files if postgres_server.password in p.read_text(errors="replace")]
