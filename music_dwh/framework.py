"""The one door to framework internals: every private Dagster (and dagster-postgres) API
music_dwh uses is named here, with what it is used for and when it can go: the upstream change
it waits for (a dagster-io/dagster issue where one exists) or the condition under which
music_dwh no longer needs it. No entry says "none": a name with no way out is not added.

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
    """A private name: where it lives, which music_dwh feature uses it, when it can go."""

    module: str
    used_for: str
    until: str  # the upstream change (issue) or the condition under which it can go


@dataclass(frozen=True)
class Member:
    """A private (or undocumented) member of a framework class that music_dwh overrides or
    calls: the class (a name here, or ``module:Class``), the member, the feature using it, and
    when it can go."""

    owner: str
    name: str
    used_for: str
    until: str


# ---------------------------------------------------------------------------- when each can go
# Several names serve one feature and go together: each condition is stated once, here.
UNTIL_TAG_EXPORTED = (
    "Dagster exports its run tag names (none of the `dagster/…` constants is public in 1.13); "
    "or sooner, the literal value, which test_run_tags_keep_their_values pins"
)
UNTIL_LAUNCHER_CHECKS_HEALTH = (
    "DefaultRunLauncher checks its own workers' health (supports_check_run_worker_health is "
    "False in 1.13), so the daemon's run monitoring fails a run whose process died"
)
UNTIL_DEAD_RUNS_FREED = (
    "Dagster fails a run whose process died and frees its pool slots without a daemon too "
    "(`music-dwh load` runs without one; with one, once " + UNTIL_LAUNCHER_CHECKS_HEALTH + ", "
    "`run_monitoring: free_slots_after_run_end_seconds` frees the slots: "
    "dagster-io/dagster#32560 asks for that setting to be documented)"
)
UNTIL_QUEUE_INITIALIZES_POOLS = (
    "Dagster's run queue gives a pool its default limit before the pass that reads the "
    "limits (in 1.13 it does so during the first pass that sees the pool, which then launches "
    "every queued run of that pool at once)"
)
UNTIL_SQLITE_BATCHES = (
    "Dagster's SQLite event log writes a batch in one transaction (its store_event_batch is "
    "the base class's one store_event per event in 1.13; bulk writes were asked in "
    "dagster-io/dagster#19618, closed as stale) and its SQLite engines take "
    "synchronous=NORMAL; then MUSIC_DWH_DAGSTER_STORAGE=sqlite needs no storage of its own"
)
UNTIL_PG_PASSWORD_PROVIDER = (
    "dagster-postgres reads the password when a connection opens (a password provider: "
    "dagster-io/dagster#33427, PR #33503)"
)
UNTIL_PG_POOLS = (
    "dagster-postgres pools connections in every process, not only the webserver "
    "(dagster-io/dagster#20325; pool settings in dagster.yaml: #33935)"
)
UNTIL_OWN_STORAGE_GOES = (
    "music_dwh's storage classes go (SQLite: "
    + UNTIL_SQLITE_BATCHES
    + "; PostgreSQL: "
    + UNTIL_PG_PASSWORD_PROVIDER
    + " and "
    + UNTIL_PG_POOLS
    + "): custom instance storage "
    "is named by class reference"
)

UNTIL_BULK_PARTITION_METADATA = (
    "context.add_asset_metadata takes metadata for many partitions in one call (one call per "
    "day re-copies what was gathered so far: seconds for a multi-year range run)"
)
UNTIL_PARTIAL_RUN_DELETE = (
    "Dagster can delete part of a run's events, or prune by age itself (DagsterInstance."
    "delete_run removes a whole run only, and the asset's latest materialization with it)"
)

INTERNALS: dict[str, Internal] = {
    # ------------------------------------------------------------------ run tags
    "PARTITION_NAME_TAG": Internal(
        "dagster._core.storage.tags",
        "sensors (a day's latest run, run keys) and alerts (the failed run's day); "
        "`music-dwh load` reads it back for progress",
        UNTIL_TAG_EXPORTED,
    ),
    "ASSET_PARTITION_RANGE_START_TAG": Internal(
        "dagster._core.storage.tags",
        "`music-dwh load` and the catalogue/reference sensors ask for a range run; "
        "alerts name the range",
        UNTIL_TAG_EXPORTED,
    ),
    "ASSET_PARTITION_RANGE_END_TAG": Internal(
        "dagster._core.storage.tags",
        "as ASSET_PARTITION_RANGE_START_TAG",
        UNTIL_TAG_EXPORTED,
    ),
    "WILL_RETRY_TAG": Internal(
        "dagster._core.storage.tags",
        "alerts: a failed attempt that run retries will repeat does not alert",
        "RunFailureSensorContext says whether the run will be retried; until then the tag is "
        "the maintainers' advice for run failure sensors (dagster-io/dagster#26183), so "
        + UNTIL_TAG_EXPORTED,
    ),
    "MAX_RETRIES_TAG": Internal(
        "dagster._core.storage.tags",
        "`music-dwh load` tags its runs with 0 retries: no code location to re-execute them "
        "from, so Dagster must not mark them as going to be retried; resources/retries.py "
        "reads it back (no step retries either)",
        UNTIL_TAG_EXPORTED,
    ),
    "GRPC_INFO_TAG": Internal(
        "dagster._core.storage.tags",
        "instance/launcher: the host of the code server that launched a run (is its "
        "process on this machine?)",
        UNTIL_LAUNCHER_CHECKS_HEALTH,
    ),
    # ------------------------------------------------------------------ errors
    "CheckError": Internal(
        "dagster._check",
        "assets/dbt: a step outside a repository (`music-dwh load`'s worker) "
        "has no `context.repository_def`; fall back to the job's asset graph",
        "Dagster says publicly whether a step has a repository (a `has_repository_def`, or a "
        "public error type for its absence), or `music-dwh load`'s worker runs its job from "
        "the definitions' repository",
    ),
    # ------------------------------------------------------------------ instance, run monitoring
    "InstanceRef": Internal(
        "dagster._core.instance.ref",
        "instance: Dagster's default storage config per DAGSTER_HOME (`config_defaults`), "
        "which MusicDwhInstance extends",
        UNTIL_OWN_STORAGE_GOES,
    ),
    "CheckRunHealthResult": Internal(
        "dagster._core.launcher.base",
        "instance/launcher: run monitoring fails a STARTED run whose process is gone",
        UNTIL_LAUNCHER_CHECKS_HEALTH,
    ),
    "WorkerStatus": Internal(
        "dagster._core.launcher.base", "as CheckRunHealthResult", UNTIL_LAUNCHER_CHECKS_HEALTH
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
        UNTIL_OWN_STORAGE_GOES,
    ),
    "ConfigurableClassData": Internal(
        "dagster._serdes",
        "instance: the storage class reference `config_defaults` returns",
        UNTIL_OWN_STORAGE_GOES,
    ),
    "DagsterStorage": Internal(
        "dagster._core.storage.base_storage",
        "instance: base of `PostgresStorage`",
        UNTIL_PG_PASSWORD_PROVIDER + ", when dagster_postgres.DagsterPostgresStorage would do",
    ),
    "DagsterSqliteStorage": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: base of `SqliteStorage` (same "
        "files under DAGSTER_HOME, music_dwh's three storages)",
        UNTIL_SQLITE_BATCHES,
    ),
    "_runs_directory": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: where Dagster keeps runs.db",
        UNTIL_SQLITE_BATCHES,
    ),
    "_event_logs_directory": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: where Dagster keeps the event log's shards",
        UNTIL_SQLITE_BATCHES,
    ),
    "_schedule_directory": Internal(
        "dagster._core.storage.sqlite_storage",
        "instance: where Dagster keeps schedules.db",
        UNTIL_SQLITE_BATCHES,
    ),
    "SqliteRunStorage": Internal(
        "dagster._core.storage.runs.sqlite.sqlite_run_storage",
        "instance: base of the "
        "synchronous=NORMAL run storage; instance/launcher: is the instance local files?",
        UNTIL_SQLITE_BATCHES,
    ),
    "SqliteScheduleStorage": Internal(
        "dagster._core.storage.schedules.sqlite.sqlite_schedule_storage",
        "instance: base of the synchronous=NORMAL schedule storage",
        UNTIL_SQLITE_BATCHES,
    ),
    "SqliteEventLogStorage": Internal(
        "dagster._core.storage.event_log.sqlite.sqlite_event_log",
        "instance: base of the batching event log (one transaction per batch and file)",
        UNTIL_SQLITE_BATCHES,
    ),
    "SqlEventLogStorageTable": Internal(
        "dagster._core.storage.event_log",
        "instance: the event_logs table a batch is inserted into",
        UNTIL_SQLITE_BATCHES,
    ),
    "AssetCheckExecutionsTable": Internal(
        "dagster._core.storage.event_log.schema",
        "instance: planned checks of a range run written in one INSERT",
        "Dagster writes a run's planned check events as one batch on SQLite and PostgreSQL "
        "(dagster-io/dagster#33831, PR #33832 for PostgreSQL)",
    ),
    "AssetEventTagsTable": Internal(
        "dagster._core.storage.event_log.schema",
        "instance/prune: the indexed tags of the asset events a prune removes",
        UNTIL_PARTIAL_RUN_DELETE,
    ),
    "RunTagsTable": Internal(
        "dagster._core.storage.runs.schema",
        "instance/prune: a removed run's tags (SQLite does not cascade the run's deletion to them)",
        "Dagster's SQLite run storage turns on foreign keys (PRAGMA foreign_keys), so deleting "
        "a run deletes its tags as the schema's ON DELETE CASCADE says",
    ),
    "AssetCheckExecutionRecordStatus": Internal(
        "dagster._core.storage.asset_check_execution_record",
        "instance: the PLANNED status of those rows",
        "as AssetCheckExecutionsTable",
    ),
    "ASSET_EVENTS": Internal(
        "dagster._core.events",
        "instance: which batched events get asset index rows",
        UNTIL_SQLITE_BATCHES,
    ),
    "create_engine": Internal(
        "dagster._core.storage.sql",
        "instance: Dagster's SQLite engine settings, plus synchronous=NORMAL",
        UNTIL_SQLITE_BATCHES,
    ),
    "SQLITE_BUSY_TIMEOUT_SECONDS": Internal(
        "dagster._core.storage.sqlite",
        "instance: the kept-open SQLite connections wait as Dagster's do",
        UNTIL_SQLITE_BATCHES,
    ),
    # ------------------------------------------------------------------ dagster-postgres
    "PgTokenProvider": Internal(
        "dagster_postgres.auth",
        "instance: the instance storage's password read from "
        "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD when a connection opens, never in the config",
        UNTIL_PG_PASSWORD_PROVIDER,
    ),
    "create_pg_engine": Internal(
        "dagster_postgres.utils",
        "instance: a pooled engine (one connection per storage and "
        "process) instead of one connection per event",
        UNTIL_PG_POOLS,
    ),
}

# The storage classes Dagster names for run/event/schedule storage when a unified storage is
# configured (the instance's config_defaults points them at music_dwh's storage); they go with
# InstanceRef.
LEGACY_STORAGE_MODULE = "dagster._core.storage.legacy_storage"
LEGACY_STORAGE_CLASSES = ("LegacyRunStorage", "LegacyEventLogStorage", "LegacyScheduleStorage")

_INSTANCE = "instance: music_dwh's storage"
_SQLITE_EVENTS = "instance: the batching SQLite event log"
_POSTGRES = "instance: the pooled, batching PostgreSQL storage"
_MONITORING = "instance/launcher: run monitoring's health check"
_QUEUE = "instance/launcher: the pool queue"
_SLOTS = "instance/cleanup: a dead run's pool slots freed"

MEMBERS: tuple[Member, ...] = (
    Member(
        "dagster:OpExecutionContext",
        "get_step_execution_context",
        "assets/metadata: the step whose metadata a range run's days get",
        UNTIL_BULK_PARTITION_METADATA,
    ),
    Member(
        "OutputMetadataAccumulator",
        "per_output_metadata",
        "assets/metadata: the step's metadata by asset partition (the step context keeps it "
        "in `_metadata_accumulator`; test_metadata.py checks the days' events)",
        UNTIL_BULK_PARTITION_METADATA,
    ),
    Member(
        "dagster:DagsterInstance",
        "_get_event_batch_size",
        "instance: events batched by default (EVENT_BATCH_SIZE)",
        "Dagster batches events by default or takes the batch size in dagster.yaml "
        "(DAGSTER_EVENT_BATCH_SIZE is an environment variable only, 0 by default)",
    ),
    Member(
        "InstanceRef",
        "config_defaults",
        _INSTANCE + " defaults per DAGSTER_HOME",
        UNTIL_OWN_STORAGE_GOES,
    ),
    *(
        Member("DagsterSqliteStorage", name, _INSTANCE + " (SQLite)", UNTIL_SQLITE_BATCHES)
        for name in ("from_local", "from_config_value")
    ),
    Member(
        "SqliteRunStorage",
        "from_local",
        "instance: the synchronous=NORMAL run storage",
        UNTIL_SQLITE_BATCHES,
    ),
    Member(
        "SqliteRunStorage",
        "connect",
        "instance: one connection kept open per file",
        UNTIL_SQLITE_BATCHES,
    ),
    Member(
        "SqliteScheduleStorage",
        "from_local",
        "instance: the schedule storage",
        UNTIL_SQLITE_BATCHES,
    ),
    Member(
        "SqliteScheduleStorage",
        "connect",
        "instance: one connection kept open per file",
        UNTIL_SQLITE_BATCHES,
    ),
    Member(
        "SqliteEventLogStorage",
        "_connect",
        _SQLITE_EVENTS + " (one engine per shard)",
        UNTIL_SQLITE_BATCHES,
    ),
    *(
        Member("SqliteEventLogStorage", name, _SQLITE_EVENTS, UNTIL_SQLITE_BATCHES)
        for name in (
            "_initdb",
            "conn_string_for_shard",
            "path_for_shard",
            "run_connection",
            "index_connection",
            "index_transaction",
            "store_event_batch",
            "_event_to_row",
            "_event_insert_timestamp",
            "_store_asset_event_tags",
            "_store_asset_event",
            "_store_asset_check_evaluation_planned",
            "supports_asset_checks",
            "wipe",
        )
    ),
    *(
        Member(f"dagster_postgres:{owner}", name, _POSTGRES, UNTIL_PG_POOLS)
        for owner, name in (
            ("PostgresEventLogStorage", "_connect"),
            ("PostgresEventLogStorage", "_event_to_row"),
            ("PostgresEventLogStorage", "index_transaction"),
            ("PostgresEventLogStorage", "optimize_for_webserver"),
            ("PostgresRunStorage", "optimize_for_webserver"),
            ("PostgresScheduleStorage", "optimize_for_webserver"),
        )
    ),
    *(
        Member(
            "PgTokenProvider",
            name,
            _POSTGRES + " (the password from the environment)",
            UNTIL_PG_PASSWORD_PROVIDER,
        )
        for name in ("_fetch_token", "get_token")
    ),
    *(
        Member("dagster:DefaultRunLauncher", name, _MONITORING, UNTIL_LAUNCHER_CHECKS_HEALTH)
        for name in ("_instance", "supports_check_run_worker_health", "check_run_worker_health")
    ),
    *(
        Member(owner, name, _QUEUE, UNTIL_QUEUE_INITIALIZES_POOLS)
        for owner, name in (
            ("dagster:QueuedRunCoordinator", "_instance"),
            ("dagster:QueuedRunCoordinator", "submit_run"),
            ("SqliteEventLogStorage", "get_concurrency_keys"),
            ("SqliteEventLogStorage", "initialize_concurrency_limit_to_default"),
        )
    ),
    Member(
        "SqliteEventLogStorage",
        "supports_global_concurrency_limits",
        _QUEUE + "; " + _SLOTS,
        UNTIL_QUEUE_INITIALIZES_POOLS + "; and " + UNTIL_DEAD_RUNS_FREED,
    ),
    Member(
        "SqliteEventLogStorage", "free_concurrency_slots_for_run", _SLOTS, UNTIL_DEAD_RUNS_FREED
    ),
    Member(
        "SqliteEventLogStorage",
        "get_concurrency_run_ids",
        "instance/cleanup: which runs hold pool slots",
        UNTIL_DEAD_RUNS_FREED,
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
