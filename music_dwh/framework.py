"""The one door to framework internals: every private Dagster (and dagster-postgres) API
music_dwh uses is named here, with what it is used for and what public API would replace it.

Modules import these names from here (``from music_dwh.framework import PARTITION_NAME_TAG``),
never from ``dagster._…``; ``music_dwh_tests/test_framework.py`` checks after an upgrade that
each still exists with the attributes and signatures music_dwh relies on, and fails naming the
feature that breaks. Names are imported on first use (:func:`__getattr__`): importing this
module costs nothing, and the SQLite storage classes, which ``import dagster`` does not load,
stay unloaded for the definitions and the CLI until the instance needs them.

What Dagster exports publicly (``DagsterRun``, ``EventLogEntry``, ``DagsterEventType``,
``serialize_value``, ``StringSource``, ``SubmitRunContext`` …) is imported from ``dagster``
where it is used, not from here. dagster-dbt's internals (``dagster_dbt.asset_utils``, its
event-message class) stay in ``resources/dbt_cli.py`` and ``dbt_manifest.py``, whose versions
``resources/dbt_process.VERIFIED`` pins and ``test_dbt_process.py`` tests.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any


@dataclass(frozen=True)
class Internal:
    """A private name: where it lives, which music_dwh feature uses it, what would replace it."""

    module: str
    used_for: str
    public: str  # the public API that would replace it, or why there is none


@dataclass(frozen=True)
class Member:
    """A private (or undocumented) member of a framework class that music_dwh overrides or
    calls: the class (a name here, or ``module:Class``), the member, the feature using it."""

    owner: str
    name: str
    used_for: str


_TAGS = "dagster._core.storage.tags"
_TAG_REPLACEMENT = (
    "none exported: the value is a documented run tag; the literal string (see the tests) would do"
)

INTERNALS: dict[str, Internal] = {
    # ------------------------------------------------------------------ run tags
    "PARTITION_NAME_TAG": Internal(
        _TAGS,
        "sensors (a day's latest run, run keys) and alerts (the failed run's day); "
        "`music-dwh load` reads it back for progress",
        _TAG_REPLACEMENT,
    ),
    "ASSET_PARTITION_RANGE_START_TAG": Internal(
        _TAGS,
        "`music-dwh load` and the catalogue/reference sensors ask for a range run; "
        "alerts name the range",
        _TAG_REPLACEMENT,
    ),
    "ASSET_PARTITION_RANGE_END_TAG": Internal(
        _TAGS, "as ASSET_PARTITION_RANGE_START_TAG", _TAG_REPLACEMENT
    ),
    "WILL_RETRY_TAG": Internal(
        _TAGS,
        "alerts: a failed attempt that run retries will repeat does not alert",
        "none: `RunFailureSensorContext` does not say whether the run will be retried",
    ),
    "MAX_RETRIES_TAG": Internal(
        _TAGS,
        "`music-dwh load` tags its runs with 0 retries: no code location to re-execute them "
        "from, so Dagster must not mark them as going to be retried",
        _TAG_REPLACEMENT,
    ),
    "GRPC_INFO_TAG": Internal(
        _TAGS,
        "runs/launcher: the host of the code server that launched a run (is its "
        "process on this machine?)",
        "none: a launched run's worker host is not exposed",
    ),
    # ------------------------------------------------------------------ errors
    "CheckError": Internal(
        "dagster._check",
        "assets/dbt: a step outside a repository (`music-dwh load`'s worker) "
        "has no `context.repository_def`; fall back to the job's asset graph",
        "none: a public `context.has_repository_def` (or a public error type) would",
    ),
    # ------------------------------------------------------------------ instance, run monitoring
    "InstanceRef": Internal(
        "dagster._core.instance.ref",
        "instance: Dagster's default storage config per "
        "DAGSTER_HOME (`config_defaults`); the bench opens a run's instance from its folder "
        "(`from_dir`)",
        "`DagsterInstance.get()` with DAGSTER_HOME set (the bench only); none for the defaults",
    ),
    "CheckRunHealthResult": Internal(
        "dagster._core.launcher.base",
        "runs/launcher: run monitoring fails a STARTED run whose process is gone",
        "none: run-launcher health checks are an internal extension point",
    ),
    "WorkerStatus": Internal("dagster._core.launcher.base", "as CheckRunHealthResult", "none"),
    "InstigatorType": Internal(
        "dagster._core.scheduler.instigation",
        "bench/latency: waits for the log sensor's first tick",
        "the GraphQL API (`sensorOrError { sensorState { ticks } }`)",
    ),
    # ------------------------------------------------------------------ step metadata
    "OutputMetadataAccumulator": Internal(
        "dagster._core.execution.context.metadata_logging",
        "assets/metadata: each day's own metadata on the materializations of a range run, "
        "added for all days at once",
        "`context.add_asset_metadata(partition_key=…)`, one day per call, whose cost grows "
        "with the square of the days (2.2 s for two assets × 1,817 days)",
    ),
    "AssetMetadataHandle": Internal(
        "dagster._core.execution.context.metadata_logging",
        "as OutputMetadataAccumulator: the key of one asset partition's metadata",
        "as OutputMetadataAccumulator",
    ),
    # ------------------------------------------------------------------ instance storage
    "ConfigurableClass": Internal(
        "dagster._serdes",
        "instance: `PostgresStorage` is named in the instance's storage config",
        "none: custom instance storage is configured by class reference only",
    ),
    "ConfigurableClassData": Internal(
        "dagster._serdes",
        "instance: the storage class reference `config_defaults` returns",
        "none (as ConfigurableClass)",
    ),
    "DagsterStorage": Internal(
        "dagster._core.storage.base_storage",
        "instance: base of `PostgresStorage`",
        "dagster_postgres.DagsterPostgresStorage, if it took a token provider (it does not)",
    ),
    "DagsterSqliteStorage": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: base of `SqliteStorage` (same "
        "files under DAGSTER_HOME, music_dwh's three storages)",
        "none: a storage: section in dagster.yaml, without synchronous=NORMAL and batched writes",
    ),
    "_runs_directory": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: where Dagster keeps runs.db",
        "none (the layout: DAGSTER_HOME/history)",
    ),
    "_event_logs_directory": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: where Dagster keeps the event log's shards",
        "none (the layout: DAGSTER_HOME/history/runs)",
    ),
    "_schedule_directory": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: where Dagster keeps schedules.db",
        "none (the layout: DAGSTER_HOME/schedules)",
    ),
    "SqliteRunStorage": Internal(
        "dagster._core.storage.runs.sqlite.sqlite_run_storage",
        "instance: base of the "
        "synchronous=NORMAL run storage; runs/launcher: is the instance local files?",
        "none",
    ),
    "SqliteScheduleStorage": Internal(
        "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage",
        "instance: base of the synchronous=NORMAL schedule storage",
        "none",
    ),
    "SqliteEventLogStorage": Internal(
        "dagster._core.storage.event_log.sqlite.sqlite_event_log",
        "instance: base of the batching event log (one transaction per batch and file)",
        "none",
    ),
    "SqlEventLogStorageTable": Internal(
        "dagster._core.storage.event_log",
        "instance: the event_logs table a batch is inserted into",
        "none: the event log schema is internal",
    ),
    "AssetCheckExecutionsTable": Internal(
        "dagster._core.storage.event_log.schema",
        "instance: planned checks of a range run written in one INSERT",
        "none",
    ),
    "AssetEventTagsTable": Internal(
        "dagster._core.storage.event_log.schema",
        "runs/prune: the indexed tags of the asset events a prune removes",
        "none: `DagsterInstance.delete_run` removes a whole run only, never part of one",
    ),
    "RunTagsTable": Internal(
        "dagster._core.storage.runs.schema",
        "runs/prune: a removed run's tags (SQLite does not cascade the run's deletion to them)",
        "none",
    ),
    "AssetCheckExecutionRecordStatus": Internal(
        "dagster._core.storage.asset_check_execution_record",
        "instance: the PLANNED status of those rows",
        "none",
    ),
    "ASSET_EVENTS": Internal(
        "dagster._core.events",
        "instance: which batched events get asset index rows",
        "none (the set of materialization/observation/planned event types)",
    ),
    "create_engine": Internal(
        "dagster._core.storage.sql",
        "instance: Dagster's SQLite engine settings, plus synchronous=NORMAL",
        "sqlalchemy.create_engine, repeating Dagster's arguments",
    ),
    "SQLITE_BUSY_TIMEOUT_SECONDS": Internal(
        "dagster._core.storage.sqlite",
        "instance: the kept-open SQLite connections wait as Dagster's do",
        "none: a constant of our own",
    ),
    # ------------------------------------------------------------------ dagster-postgres
    "PgTokenProvider": Internal(
        "dagster_postgres.auth",
        "instance: the instance storage's password read from "
        "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD when a connection opens, never in the config",
        "none: dagster-postgres documents only `postgres_url`/`postgres_db` config",
    ),
    "create_pg_engine": Internal(
        "dagster_postgres.utils",
        "instance: a pooled engine (one connection per storage and "
        "process) instead of one connection per event",
        "none",
    ),
}

# The storage classes Dagster names for run/event/schedule storage when a unified storage is
# configured (the instance's config_defaults points them at music_dwh's storage).
LEGACY_STORAGE_MODULE = "dagster._core.storage.legacy_storage"
LEGACY_STORAGE_CLASSES = ("LegacyRunStorage", "LegacyEventLogStorage", "LegacyScheduleStorage")

_INSTANCE = "instance: music_dwh's storage"
_SQLITE_EVENTS = "instance: the batching SQLite event log"
_POSTGRES = "instance: the pooled, batching PostgreSQL storage"
_MONITORING = "runs/launcher: run monitoring and the pool queue"

MEMBERS: tuple[Member, ...] = (
    Member(
        "dagster:OpExecutionContext",
        "get_step_execution_context",
        "assets/metadata: the step whose metadata a range run's days get",
    ),
    Member(
        "OutputMetadataAccumulator",
        "per_output_metadata",
        "assets/metadata: the step's metadata by asset partition (the step context keeps it "
        "in `_metadata_accumulator`; test_metadata.py checks the days' events)",
    ),
    Member(
        "dagster:DagsterInstance",
        "_get_event_batch_size",
        "instance: events batched by default (EVENT_BATCH_SIZE)",
    ),
    Member("InstanceRef", "config_defaults", _INSTANCE + " defaults per DAGSTER_HOME"),
    Member("InstanceRef", "from_dir", "bench/profile: a run's instance from its folder"),
    Member("DagsterSqliteStorage", "from_local", _INSTANCE + " (SQLite)"),
    Member("DagsterSqliteStorage", "from_config_value", _INSTANCE + " (SQLite)"),
    Member("SqliteRunStorage", "from_local", "instance: the synchronous=NORMAL run storage"),
    Member("SqliteRunStorage", "connect", "instance: one connection kept open per file"),
    Member("SqliteScheduleStorage", "from_local", "instance: the schedule storage"),
    Member("SqliteScheduleStorage", "connect", "instance: one connection kept open per file"),
    Member("SqliteEventLogStorage", "_connect", _SQLITE_EVENTS + " (one engine per shard)"),
    Member("SqliteEventLogStorage", "_initdb", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "conn_string_for_shard", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "path_for_shard", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "run_connection", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "index_connection", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "index_transaction", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "store_event_batch", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "_event_to_row", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "_event_insert_timestamp", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "_store_asset_event_tags", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "_store_asset_event", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "_store_asset_check_evaluation_planned", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "supports_asset_checks", _SQLITE_EVENTS),
    Member("SqliteEventLogStorage", "wipe", _SQLITE_EVENTS),
    Member("dagster_postgres:PostgresEventLogStorage", "_connect", _POSTGRES),
    Member("dagster_postgres:PostgresEventLogStorage", "_event_to_row", _POSTGRES),
    Member("dagster_postgres:PostgresEventLogStorage", "index_transaction", _POSTGRES),
    Member("dagster_postgres:PostgresEventLogStorage", "optimize_for_webserver", _POSTGRES),
    Member("dagster_postgres:PostgresRunStorage", "optimize_for_webserver", _POSTGRES),
    Member("dagster_postgres:PostgresScheduleStorage", "optimize_for_webserver", _POSTGRES),
    Member("PgTokenProvider", "_fetch_token", _POSTGRES + " (the password from the environment)"),
    Member("PgTokenProvider", "get_token", _POSTGRES + " (the password from the environment)"),
    Member("dagster:DefaultRunLauncher", "_instance", _MONITORING),
    Member("dagster:DefaultRunLauncher", "supports_check_run_worker_health", _MONITORING),
    Member("dagster:DefaultRunLauncher", "check_run_worker_health", _MONITORING),
    Member("dagster:QueuedRunCoordinator", "_instance", _MONITORING),
    Member("dagster:QueuedRunCoordinator", "submit_run", _MONITORING),
    Member("SqliteEventLogStorage", "supports_global_concurrency_limits", _MONITORING),
    Member("SqliteEventLogStorage", "get_concurrency_keys", _MONITORING),
    Member("SqliteEventLogStorage", "initialize_concurrency_limit_to_default", _MONITORING),
    Member(
        "SqliteEventLogStorage",
        "free_concurrency_slots_for_run",
        "runs/cleanup: a dead run's pool slots freed",
    ),
    Member(
        "SqliteEventLogStorage",
        "get_concurrency_run_ids",
        "runs/cleanup: which runs hold pool slots",
    ),
)

# What __getattr__ returns, for readers and type checkers (never executed; the test checks
# that these imports and INTERNALS name the same things).
if TYPE_CHECKING:
    # ruff: noqa: F401
    from dagster._check import CheckError
    from dagster._core.events import ASSET_EVENTS
    from dagster._core.execution.context.metadata_logging import (
        AssetMetadataHandle,
        OutputMetadataAccumulator,
    )
    from dagster._core.instance.ref import InstanceRef
    from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
    from dagster._core.scheduler.instigation import InstigatorType
    from dagster._core.storage.asset_check_execution_record import (
        AssetCheckExecutionRecordStatus,
    )
    from dagster._core.storage.base_storage import DagsterStorage
    from dagster._core.storage.event_log import SqlEventLogStorageTable
    from dagster._core.storage.event_log.schema import (
        AssetCheckExecutionsTable,
        AssetEventTagsTable,
    )
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from dagster._core.storage.runs.schema import RunTagsTable
    from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
    from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import (
        SqliteScheduleStorage,
    )
    from dagster._core.storage.sql import create_engine
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
    from dagster._core.storage.sqlite_storage import (
        DagsterSqliteStorage,
        _event_logs_directory,
        _runs_directory,
        _schedule_directory,
    )
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
        GRPC_INFO_TAG,
        MAX_RETRIES_TAG,
        PARTITION_NAME_TAG,
        WILL_RETRY_TAG,
    )
    from dagster._serdes import ConfigurableClass, ConfigurableClassData
    from dagster_postgres.auth import PgTokenProvider
    from dagster_postgres.utils import create_pg_engine


def __getattr__(name: str) -> Any:
    """Import a name of :data:`INTERNALS` on first use and keep it (PEP 562)."""
    internal = INTERNALS.get(name)
    if internal is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(internal.module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *INTERNALS})


def resolve(owner: str) -> Any:
    """The class a :class:`Member` belongs to: a name of :data:`INTERNALS` or ``module:Class``."""
    if ":" in owner:
        module, name = owner.split(":", 1)
        return getattr(importlib.import_module(module), name)
    return __getattr__(owner)
