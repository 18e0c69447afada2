"""What breaks on a Dagster upgrade: every private name of ``music_dwh.framework`` still exists,
with the members, signatures and values music_dwh relies on. Each failure names the music_dwh
feature that depends on what changed (from the adapter's own table)."""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest

from music_dwh import framework
from music_dwh.framework import INTERNALS, MEMBERS
from music_dwh_tests.conftest import REPO_ROOT

PACKAGE = REPO_ROOT / "music_dwh"
BENCH = REPO_ROOT / "bench"


def _needed_by(name: str) -> str:
    internal = INTERNALS[name]
    return (
        f"{internal.module}.{name} changed; music_dwh's {internal.used_for} depends on it "
        f"(it can go when {internal.until})"
    )


def _parameters(fn) -> list[str]:
    return [p for p in inspect.signature(fn).parameters if p != "self"]


# ---------------------------------------------------------------------------- the table
@pytest.mark.parametrize("name", sorted(INTERNALS))
def test_every_internal_name_still_exists(name: str):
    module = importlib.import_module(INTERNALS[name].module)
    assert hasattr(module, name), _needed_by(name)
    assert getattr(framework, name) is getattr(module, name)


@pytest.mark.parametrize("member", MEMBERS, ids=lambda m: f"{m.owner}.{m.name}")
def test_every_member_music_dwh_overrides_or_calls_still_exists(member: framework.Member):
    owner = framework.resolve(member.owner)
    assert hasattr(owner, member.name), (
        f"{owner.__module__}.{owner.__name__}.{member.name} is gone; {member.used_for} "
        "depends on it"
    )


def test_the_type_checking_imports_name_the_same_things_as_the_table():
    tree = ast.parse((PACKAGE / "framework.py").read_text())
    block = next(
        n
        for n in tree.body
        if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING"
    )
    imported = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == {name: internal.module for name, internal in INTERNALS.items()}


def test_every_entry_says_when_it_can_go():
    """The upstream change or the condition that ends each entry; "none" is not one."""
    entries = [*INTERNALS.items(), *((f"{m.owner}.{m.name}", m) for m in MEMBERS)]
    endless = [
        name
        for name, entry in entries
        if not entry.until.strip() or entry.until.lower().startswith("none")
    ]
    assert endless == []


def test_no_private_framework_import_outside_the_adapter():
    """``dagster._…`` (imports and module paths in strings) only in ``framework.py``, in the
    package and in the benchmark."""
    found = []
    for path in sorted([*PACKAGE.rglob("*.py"), *BENCH.rglob("*.py")]):
        if path.name == "framework.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value] if node.value.startswith("dagster._") else []
            found += [
                f"{path.relative_to(REPO_ROOT)}:{node.lineno} {n}"
                for n in names
                if n.startswith(("dagster._", "dagster_postgres.auth", "dagster_postgres.utils"))
            ]
    assert found == [], "import these through music_dwh.framework"


# ---------------------------------------------------------------------------- values
def test_run_tags_keep_their_values():
    # Stored on every run already in an instance: a new value would make the sensors miss the
    # history (a day's latest run) and the alerts lose a run's day.
    expected = {
        "PARTITION_NAME_TAG": "dagster/partition",
        "ASSET_PARTITION_RANGE_START_TAG": "dagster/asset_partition_range_start",
        "ASSET_PARTITION_RANGE_END_TAG": "dagster/asset_partition_range_end",
        "WILL_RETRY_TAG": "dagster/will_retry",
        "MAX_RETRIES_TAG": "dagster/max_retries",
        "GRPC_INFO_TAG": ".dagster/grpc_info",
    }
    for name, value in expected.items():
        assert getattr(framework, name) == value, _needed_by(name)


def test_check_error_is_an_exception():
    assert issubclass(framework.CheckError, Exception), _needed_by("CheckError")


def test_run_monitoring_types():
    assert _parameters(framework.CheckRunHealthResult)[:2] == ["status", "msg"], _needed_by(
        "CheckRunHealthResult"
    )
    assert "run_worker_id" in _parameters(framework.CheckRunHealthResult), _needed_by(
        "CheckRunHealthResult"
    )
    assert {"RUNNING", "FAILED"} <= set(framework.WorkerStatus.__members__), _needed_by(
        "WorkerStatus"
    )


def test_instance_defaults_and_class_references(tmp_path: Path):
    defaults = framework.InstanceRef.config_defaults(str(tmp_path))
    assert {"run_storage", "event_log_storage", "schedule_storage", "storage"} <= set(defaults), (
        _needed_by("InstanceRef")
    )
    assert framework.ConfigurableClassData._fields == (
        "module_name",
        "class_name",
        "config_yaml",
    ), _needed_by("ConfigurableClassData")
    legacy = importlib.import_module(framework.LEGACY_STORAGE_MODULE)
    for name in framework.LEGACY_STORAGE_CLASSES:
        assert hasattr(legacy, name), f"{name}: MusicDwhInstance.config_defaults names it"
    assert issubclass(framework.DagsterSqliteStorage, framework.DagsterStorage)
    assert {"from_config_value", "config_type", "inst_data"} <= set(
        dir(framework.ConfigurableClass)
    )


def test_sqlite_layout_under_dagster_home(tmp_path: Path):
    # MusicDwhInstance's SQLite storage must find an existing DAGSTER_HOME's history.
    base = str(tmp_path)
    assert Path(framework._runs_directory(base)) == tmp_path / "history", _needed_by(
        "_runs_directory"
    )
    assert Path(framework._event_logs_directory(base)) == tmp_path / "history" / "runs", _needed_by(
        "_event_logs_directory"
    )
    assert Path(framework._schedule_directory(base)) == tmp_path / "schedules", _needed_by(
        "_schedule_directory"
    )
    assert _parameters(framework.DagsterSqliteStorage.from_local)[:2] == ["base_dir", "inst_data"]


def test_sqlite_storages_keep_the_attributes_the_instance_uses(tmp_path: Path):
    runs = framework.SqliteRunStorage.from_local(str(tmp_path / "runs"))
    schedules = framework.SqliteScheduleStorage.from_local(str(tmp_path / "schedules"))
    events = framework.SqliteEventLogStorage(str(tmp_path / "events"))
    try:
        assert runs._conn_string.startswith("sqlite:///"), _needed_by("SqliteRunStorage")
        assert schedules._conn_string.startswith("sqlite:///"), _needed_by("SqliteScheduleStorage")
        for attribute in ("_db_lock", "_initialized_dbs"):
            assert hasattr(events, attribute), _needed_by("SqliteEventLogStorage")
        assert events.conn_string_for_shard("index").startswith("sqlite:///")
        assert events.path_for_shard("index").endswith("index.db"), _needed_by(
            "SqliteEventLogStorage"
        )
    finally:
        for storage in (runs, schedules, events):
            storage.dispose()


def test_event_log_method_signatures():
    storage = framework.SqliteEventLogStorage
    expected = {
        "_connect": ["shard"],
        "_initdb": ["engine", "for_index_shard"],
        "_event_to_row": ["event"],
        "_event_insert_timestamp": ["event"],
        "_store_asset_event_tags": ["conn", "events", "event_ids"],
        "_store_asset_event": ["conn", "event", "event_id"],
        "_store_asset_check_evaluation_planned": ["event", "event_id"],
        "store_event_batch": ["events"],
        "run_connection": ["run_id"],
        "index_connection": [],
        "index_transaction": [],
    }
    for method, parameters in expected.items():
        assert _parameters(getattr(storage, method)) == parameters, (
            f"SqliteEventLogStorage.{method}: {_needed_by('SqliteEventLogStorage')}"
        )


def test_event_log_tables_and_events():
    assert {
        "id",
        "run_id",
        "event",
        "dagster_event_type",
        "timestamp",
        "step_key",
        "asset_key",
        "partition",
    } <= {c.name for c in framework.SqlEventLogStorageTable.columns}, _needed_by(
        "SqlEventLogStorageTable"
    )
    assert {
        "asset_key",
        "check_name",
        "partition",
        "run_id",
        "execution_status",
        "evaluation_event",
        "evaluation_event_timestamp",
        "evaluation_event_storage_id",
    } <= {c.name for c in framework.AssetCheckExecutionsTable.columns}, _needed_by(
        "AssetCheckExecutionsTable"
    )
    assert framework.AssetCheckExecutionRecordStatus.PLANNED.value == "PLANNED", _needed_by(
        "AssetCheckExecutionRecordStatus"
    )
    from dagster import DagsterEventType

    assert {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_OBSERVATION} <= set(
        framework.ASSET_EVENTS
    ), _needed_by("ASSET_EVENTS")


def test_engines_and_connection_settings():
    assert "kwargs" in _parameters(framework.create_engine), _needed_by("create_engine")
    assert isinstance(framework.SQLITE_BUSY_TIMEOUT_SECONDS, int | float), _needed_by(
        "SQLITE_BUSY_TIMEOUT_SECONDS"
    )
    assert _parameters(framework.create_pg_engine)[:2] == ["postgres_url", "token_provider"], (
        _needed_by("create_pg_engine")
    )
    assert inspect.signature(framework.PgTokenProvider._fetch_token).return_annotation in (
        "tuple[str, float]",
        tuple[str, float],
    ), _needed_by("PgTokenProvider")


def test_postgres_storages_take_a_token_provider_and_keep_their_engine():
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    for cls in (PostgresRunStorage, PostgresEventLogStorage, PostgresScheduleStorage):
        assert _parameters(cls.__init__)[:2] == ["postgres_url", "should_autocreate_tables"], cls
        assert "token_provider" in _parameters(cls.__init__), (
            f"{cls.__name__}: the instance's PostgreSQL password (PgTokenProvider) depends on it"
        )
        source = inspect.getsource(cls.__init__)
        for attribute in ("self._engine", "self.postgres_url"):
            assert attribute in source, f"{cls.__name__}: the pooled engine replaces {attribute}"
    assert "token_provider" in inspect.getsource(PostgresRunStorage.__init__)


def test_run_launcher_and_coordinator_hooks():
    from dagster import DagsterInstance, DefaultRunLauncher, QueuedRunCoordinator

    assert _parameters(DefaultRunLauncher.check_run_worker_health) == ["run"], (
        "runs/launcher: run monitoring's health check"
    )
    assert _parameters(QueuedRunCoordinator.submit_run) == ["context"], (
        "runs/launcher: the pool queue"
    )
    assert _parameters(DagsterInstance._get_event_batch_size) == [], "instance: EVENT_BATCH_SIZE"
