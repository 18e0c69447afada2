"""What dbt keeps per process, shared by the parse (``dbt_manifest.py``) and the run's
invocations (``dbt_cli.py``): one invocation at a time, the arguments every invocation takes,
releasing dbt's connections and forgetting its per-invocation state afterwards, and the
versions of the dagster-dbt and dbt-core internals used (``VERIFIED``; pyproject.toml pins the
same ranges and ``music_dwh_tests/resources/test_dbt_process.py`` fails on any other version).
"""

from __future__ import annotations

import importlib.metadata
import threading
from pathlib import Path

from dagster import get_dagster_logger

from music_dwh.dbt_project import SQL_DIR

# Package → the version range whose internals this module was verified against, and what of
# it is used beyond the documented API. Any other version fails the test suite (and logs a
# warning at run time): re-verify these, then widen the range here and in pyproject.toml.
VERIFIED: dict[str, tuple[str, str]] = {
    "dagster-dbt": (
        ">=0.29.27,<0.30",
        "asset_utils.get_subset_selection_for_context, get_manifest_and_translator_from_dbt_assets, "
        "get_dbt_resource_names_for_asset_keys, get_dbt_test_names_for_check_keys, "
        "DAGSTER_DBT_SELECT/EXCLUDE/SELECTOR_METADATA_KEY; core.dbt_cli_event.DbtCoreCliEventMessage"
        "(raw_event=, event_history_metadata=).to_default_asset_events; "
        "DagsterDbtTranslator.get_partitions_def",
    ),
    "dbt-core": (
        ">=1.11.16,<1.12",
        "dbt.cli.main.dbtRunner(manifest=, callbacks=) with a Manifest from `parse`; "
        "contracts.graph.manifest.Manifest(**public dataclass fields) (the manifest cache); "
        "EventMsg.info.name/level/msg; RunExecutionResult.results[].status/node/message",
    ),
    "dbt-common": (
        ">=1.37.3,<2",
        "events.functions.msg_to_dict; events.event_manager_client.cleanup_event_logger; "
        "context.set_invocation_context",
    ),
    "dbt-adapters": (">=1.15.5,<2", "factory.reset_adapters"),
    "dbt-duckdb": (
        ">=1.11.1,<1.12",
        "DuckDBConnectionManager._LOCK/_ENV (the process-wide open database) and _ENV.close()",
    ),
}

LOG_DIR = SQL_DIR / "logs"
# The run's partition window, read at run time only (sql/macros/partition_window.sql).
WINDOW_VARIABLES = ("MUSIC_DWH_WINDOW_START", "MUSIC_DWH_WINDOW_END")
SECRET_PREFIX = "DBT_ENV_SECRET_"

logger = get_dagster_logger()

# dbt keeps process-wide state (flags, adapters, the event manager, dbt-duckdb's database):
# one invocation at a time per process.
INVOKE_LOCK = threading.RLock()
_VERSIONS_CHECKED = False


def unverified_versions() -> list[str]:
    """Installed packages outside the ranges in ``VERIFIED``, as readable lines."""
    from packaging.specifiers import SpecifierSet

    problems = []
    for package, (spec, used) in VERIFIED.items():
        try:
            installed = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            problems.append(f"{package} is not installed (needed: {spec})")
            continue
        if installed not in SpecifierSet(spec):
            problems.append(
                f"{package} {installed} is outside the verified range {spec}; re-verify: {used}"
            )
    return problems


def warn_once_about_versions() -> None:
    global _VERSIONS_CHECKED
    if not _VERSIONS_CHECKED:
        _VERSIONS_CHECKED = True
        for line in unverified_versions():
            logger.warning(f"in-process dbt: {line}")


def common_args(project_dir: Path, profiles_dir: Path, target_path: Path) -> list[str]:
    return [
        "--project-dir",
        str(project_dir),
        "--profiles-dir",
        str(profiles_dir),
        "--target-path",
        str(target_path),
        "--log-path",
        str(LOG_DIR),
        "--log-level",
        "none",  # nothing on stdout; the callback still gets every event
        # An explicit --log-level is copied to the file's level unless that is given too: without
        # this, dbt.log would never be written.
        "--log-level-file",
        "debug",
        "--no-send-anonymous-usage-stats",
        # No manifest.json (the shared one is ensure_manifest's) or run_results.json from dbt:
        # invoke() writes run_results.json itself.
        "--no-write-json",
    ]


def release_dbt_connections() -> None:
    """Close every connection dbt holds in this process and forget its adapters (and with them
    the credentials they were made with). dbt-duckdb keeps the database open in a class
    attribute even after the adapter's connections are closed: close that too, so the file is
    released and the next invocation opens it afresh."""
    from dbt.adapters.factory import reset_adapters

    reset_adapters()  # cleanup_connections() on each adapter, then drops them
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # dbt-duckdb not installed: nothing else holds a file
        return
    with DuckDBConnectionManager._LOCK:
        env, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
    if env is not None:
        env.close()


def forget_invocation_state() -> None:
    """Drop what dbt keeps between invocations: its loggers and our callback (which would
    otherwise receive events fired later in the process) and its copy of the environment (which
    held the secret)."""
    from dbt_common.context import set_invocation_context
    from dbt_common.events.event_manager_client import cleanup_event_logger

    cleanup_event_logger()
    set_invocation_context({})
