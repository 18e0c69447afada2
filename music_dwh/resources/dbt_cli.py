"""dbt inside the run's process: dbt-core's programmatic runner (``dbtRunner``), documented at
https://docs.getdbt.com/reference/programmatic-invocations, instead of a ``dbt`` subprocess per
step (≈4-5 s of process start-up, ``dbt --version`` and partial parse each).

* **Parse once per process, or not at all.** The first dbt step of a process loads the
  ``Manifest`` a previous parse for the same environment and project files saved
  (``ManifestCache``, ``sql/target/.manifest-cache``, ≈0.3 s); only when there is none does it
  parse the project in-process (``dbt parse``, partial when ``sql/target/partial_parse.msgpack``
  matches) and save it. The ``Manifest`` object is kept, keyed by the warehouse's dbt
  environment and the project files; later steps hand it to ``dbtRunner(manifest=…)``, which
  then skips parsing. The ``Manifest`` must
  come from a ``parse`` invocation: one rebuilt from ``manifest.json`` loses the generic tests'
  kwargs (every test fails with ``'_dbt_generic_test_kwargs' is undefined``). Definitions never
  parse: ``@dbt_assets`` reads the prepared ``sql/target/manifest.json`` (``ensure_manifest``).
* **Values that change per run are read at run time only.** With a parsed manifest, SQL bodies
  and macros are rendered again on every invocation, but anything rendered at parse time
  (``config()``, YAML) is frozen: the partition window (``MUSIC_DWH_WINDOW_START``/``END``) is
  only read by ``sql/macros/partition_window.sql`` (tested).
* **dagster-dbt stays the integration.** ``@dbt_assets`` and the translator define the assets;
  this runner takes the dbt selection from dagster-dbt (``dbt_selection``: its arguments for
  the whole multi-asset; for a subset, its names of exactly the selected models and checks)
  and turns dbt's structured events, received by a callback, into Dagster events with
  dagster-dbt's own
  ``DbtCoreCliEventMessage.to_default_asset_events``: the same ``Output``s, check results and
  metadata as the subprocess path.
* **Nothing stays open.** dbt-duckdb keeps its DuckDB database open after a call
  (``keep_open``) in a class attribute, and reuses a registered adapter (with the credentials of
  the first call) for every later one; repeated invocations in one process on DuckDB are known
  to read stale data (dbt-core issue #12615). After every invocation the adapters' connections
  are closed, the adapters forgotten, and dbt-duckdb's database closed: the file is free for the
  next step (or another process) and the next invocation opens it afresh (tested).
* **Quiet.** ``--log-level none``: dbt prints nothing; its debug log goes to ``sql/logs/dbt.log``
  (secrets scrubbed by dbt). Each invocation writes its artifacts (compiled SQL,
  ``run_results.json``) to ``sql/target/<step>-<run id>-<uuid>``, as dagster-dbt does.
* **Secrets.** The warehouse password reaches dbt as ``DBT_ENV_SECRET_WAREHOUSE_PASSWORD``
  (``Warehouse.dbt_env()``), set in ``os.environ`` only for the length of the invocation (and
  never for the parse, which does not connect); events taken from the callback (which dbt does
  not scrub) are scrubbed here, and dbt's per-invocation copy of the environment is dropped
  afterwards.

dagster-dbt and dbt-core internals used here are listed in ``VERIFIED``; pyproject.toml pins
the same ranges and ``music_dwh_tests/resources/test_dbt_cli.py`` fails on any other version.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.metadata
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource, get_dagster_logger

from music_dwh.dbt_project import QUIET_ENV, SQL_DIR, dbt_project, project_files, project_fingerprint
from music_dwh.settings import temporary_environ

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
WINDOW_VARIABLES = ("MUSIC_DWH_WINDOW_START", "MUSIC_DWH_WINDOW_END")
# Structured events that carry a node's result: what dagster-dbt turns into Dagster events.
RESULT_EVENTS = frozenset({"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"})
SECRET_PREFIX = "DBT_ENV_SECRET_"
# dbt build runs unit tests by default: they check the SQL on fixtures, not the run's data,
# so in a run they only add nodes and time (the system's path selection picks them up).
# The test suite runs them instead (music_dwh_tests/sql/test_unit_tests.py).
BUILD_EXCLUDE = ("--exclude-resource-type", "unit_test")

logger = get_dagster_logger()

# dbt keeps process-wide state (flags, adapters, the event manager, dbt-duckdb's database):
# one invocation at a time per process.
_INVOKE_LOCK = threading.RLock()
_MANIFESTS: dict[tuple, Any] = {}
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
            problems.append(f"{package} {installed} is outside the verified range {spec}; re-verify: {used}")
    return problems


def _warn_once_about_versions() -> None:
    global _VERSIONS_CHECKED
    if not _VERSIONS_CHECKED:
        _VERSIONS_CHECKED = True
        for line in unverified_versions():
            logger.warning(f"in-process dbt: {line}")


def _common_args(project_dir: Path, profiles_dir: Path, target_path: Path) -> list[str]:
    return [
        "--project-dir", str(project_dir),
        "--profiles-dir", str(profiles_dir),
        "--target-path", str(target_path),
        "--log-path", str(LOG_DIR),
        "--log-level", "none",          # nothing on stdout; the callback still gets every event
        # An explicit --log-level is copied to the file's level unless that is given too: without
        # this, dbt.log would never be written.
        "--log-level-file", "debug",
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


def _forget_invocation_state() -> None:
    """Drop what dbt keeps between invocations: its loggers and our callback (which would
    otherwise receive events fired later in the process) and its copy of the environment (which
    held the secret)."""
    from dbt_common.context import set_invocation_context
    from dbt_common.events.event_manager_client import cleanup_event_logger

    cleanup_event_logger()
    set_invocation_context({})


def parsed_manifest(dbt_env: Mapping[str, str], project_dir: Path = SQL_DIR,
                    profiles_dir: Path = SQL_DIR):
    """dbt's ``Manifest`` for this environment, parsed in-process once per process (and again
    only when a project file changes). Parsing never connects: secrets are left out, and the
    partition window is unset so nothing can depend on it.

    A process's first call loads the ``Manifest`` a previous process parsed for the same
    environment and project files from ``<project>/target/.manifest-cache`` (≈0.3 s) instead of
    parsing (≈1.5-4 s: dbt's partial parsing is thrown away whenever another warehouse, a test
    or ``music-dwh prepare`` for another profile, parsed in between, since dbt keeps one
    ``partial_parse.msgpack`` per target folder and the profile is part of its check)."""
    # The parse sees neither secrets nor the window (unset below): neither is part of the key,
    # so every window of every run shares one parsed manifest.
    env = {k: v for k, v in dbt_env.items() if not k.startswith(SECRET_PREFIX) and k not in WINDOW_VARIABLES}
    key = (tuple(sorted(env.items())), str(project_dir), project_fingerprint(Path(project_dir)))
    with _INVOKE_LOCK:
        if key in _MANIFESTS:
            return _MANIFESTS[key]
        _warn_once_about_versions()
        target = Path(project_dir) / "target"
        target.mkdir(parents=True, exist_ok=True)
        unset = [*WINDOW_VARIABLES, *(k for k in os.environ if k.startswith(SECRET_PREFIX))]
        started = time.monotonic()
        with temporary_environ({**QUIET_ENV, **env}, unset=unset):
            cache = ManifestCache(Path(project_dir), env)
            manifest = cache.load()
            if manifest is not None:
                logger.info(f"Loaded the dbt project's parsed manifest in {time.monotonic() - started:.2f} s.")
                _MANIFESTS.clear()
                _MANIFESTS[key] = manifest
                return manifest
            # A private target folder: the shared sql/target/manifest.json (read by @dbt_assets
            # in other processes) is never rewritten here. The prepared partial-parse state is
            # copied in so the parse is partial when the project and environment match it.
            with tempfile.TemporaryDirectory(dir=target, prefix=".inprocess-parse-") as scratch:
                prepared = target / "partial_parse.msgpack"
                if prepared.exists():
                    shutil.copy(prepared, Path(scratch) / prepared.name)
                result = _parse(["parse", *_common_args(Path(project_dir), Path(profiles_dir), Path(scratch))],
                                project_dir)
            # Saved before any invocation compiles nodes in place: the cached copy is a fresh parse.
            cache.save(result.result)
        logger.info(f"Parsed the dbt project in-process in {time.monotonic() - started:.1f} s.")
        _MANIFESTS.clear()  # one environment per process in practice: keep only the latest
        _MANIFESTS[key] = result.result
        return result.result


def _parse(args: list[str], project_dir: Path):
    """One in-process ``dbt parse``: its result, or a RuntimeError quoting dbt's errors."""
    from dbt.cli.main import dbtRunner

    errors: list[str] = []
    try:
        result = dbtRunner(callbacks=[_error_collector(errors)]).invoke(args)
    finally:
        release_dbt_connections()
        _forget_invocation_state()
    if not result.success or result.result is None:
        detail = "\n".join(errors) or repr(result.exception)
        raise RuntimeError(f"dbt parse failed in {project_dir}:\n{detail}")
    return result


def parse_and_write(dbt_env: Mapping[str, str], target_path: Path, project_dir: Path = SQL_DIR,
                    profiles_dir: Path = SQL_DIR):
    """``dbt parse`` in this process, writing ``manifest.json`` and ``partial_parse.msgpack``
    into ``target_path`` (``ensure_manifest``: a ``dbt`` subprocess cost ≈5-7 s, of which ≈2.5 s
    starting Python and importing dbt again). The parsed ``Manifest`` is also what the run's
    dbt step uses: it is saved in the ``ManifestCache`` and kept for this process."""
    env = {k: v for k, v in dbt_env.items() if not k.startswith(SECRET_PREFIX) and k not in WINDOW_VARIABLES}
    args = ["parse", *_common_args(Path(project_dir), Path(profiles_dir), Path(target_path))]
    args[args.index("--no-write-json")] = "--write-json"  # manifest.json for @dbt_assets
    unset = [*WINDOW_VARIABLES, *(k for k in os.environ if k.startswith(SECRET_PREFIX))]
    with _INVOKE_LOCK:
        _warn_once_about_versions()
        with temporary_environ({**QUIET_ENV, **env}, unset=unset):
            result = _parse(args, project_dir)
            ManifestCache(Path(project_dir), env).save(result.result)
        key = (tuple(sorted(env.items())), str(project_dir), project_fingerprint(Path(project_dir)))
        _MANIFESTS.clear()
        _MANIFESTS[key] = result.result
    return result.result


def _env_marker() -> Path:
    return dbt_project.manifest_path.with_name("music_dwh_parse_env.json")


def manifest_is_stale(env: dict[str, str]) -> bool:
    """True when sql/target/manifest.json is missing, older than any file of the project, or
    was parsed for another warehouse (dbt then re-parses on every run instead of partially)."""
    manifest = dbt_project.manifest_path
    marker = _env_marker()
    if not manifest.exists() or not marker.exists():
        return True
    if json.loads(marker.read_text()) != env:
        return True
    built = manifest.stat().st_mtime
    return any(p.stat().st_mtime > built for p in project_files() if p.exists())


def ensure_manifest(dbt_env: dict[str, str] | None = None, force: bool = False) -> Path:
    """Parse the dbt project (``dbt parse`` in this process, ≈2-4 s) when the manifest is missing
    or stale.

    ``dbt_env`` is the warehouse's dbt environment (``Warehouse.dbt_env()``); parsing under the
    same profile lets every later run reuse the parse (dbt's partial parsing).
    """
    # Parsing never connects: secrets (DBT_ENV_SECRET_*) are neither needed nor written into
    # the marker file.
    dbt_env = {k: v for k, v in (dbt_env or {}).items() if not k.startswith("DBT_ENV_SECRET_")}
    if force or manifest_is_stale(dbt_env):
        # In this process (dbt's programmatic runner; ``music-dwh load``'s worker needs dbt
        # anyway), which also leaves the parsed Manifest for the run's dbt step.
        target = dbt_project.manifest_path.parent
        target.mkdir(parents=True, exist_ok=True)
        # Parse into a private folder, then swap the artifacts in: a process reading the
        # manifest (a test, the webserver) never sees a half-written file.
        with tempfile.TemporaryDirectory(dir=target, prefix=".parse-") as scratch:
            parse_and_write(dbt_env, Path(scratch))
            for name in ("partial_parse.msgpack", "manifest.json"):
                if (Path(scratch) / name).exists():
                    os.replace(Path(scratch) / name, target / name)
        marker = _env_marker()
        tmp_marker = marker.with_name(f".{marker.name}.{os.getpid()}")
        tmp_marker.write_text(json.dumps(dbt_env, sort_keys=True))
        os.replace(tmp_marker, marker)
    return dbt_project.manifest_path


class ManifestCache:
    """Parsed ``Manifest`` objects on disk, one file per environment and project content.

    What is stored is the ``Manifest`` dataclass's public fields, pickled (nodes, macros,
    files …: unlike a manifest rebuilt from ``manifest.json``, everything a parse left, the
    generic tests' kwargs included); the private lookups, caches and lock are left to their
    defaults and rebuilt on first use. (dbt's own ``Manifest.__reduce_ex__`` cannot be used: in
    dbt-core 1.11 its arguments are shifted by one field from ``fixtures`` on, so a manifest it
    restores fails every ``ref()``.) The file name is a digest of what a parse depends on: the
    dbt environment (profile target and credentials, secrets excluded), the project folder, the
    content of every project file, and the Python and verified package versions. A loaded
    manifest is also checked against what dbt recorded reading from the environment while
    parsing (``Manifest.env_vars``, as dbt's partial parsing does). Anything unreadable or not
    matching is a miss: the project is parsed and the file rewritten. Files are written to a
    temporary name and renamed; the newest ``KEEP`` are kept."""

    KEEP = 8
    FOLDER = ".manifest-cache"
    # What dbt records for a variable read with env_var() while it was unset.
    UNSET = "DBT_DEFAULT_PLACEHOLDER"

    def __init__(self, project_dir: Path, env: Mapping[str, str]):
        self.folder = Path(project_dir) / "target" / self.FOLDER
        self.path = self.folder / f"{self.digest(Path(project_dir), env)}.pickle"

    @staticmethod
    def digest(project_dir: Path, env: Mapping[str, str]) -> str:
        import hashlib
        import json
        import sys

        h = hashlib.sha256()
        versions = {}
        for package in [*VERIFIED, "dbt-postgres", "dbt-redshift"]:
            try:
                versions[package] = importlib.metadata.version(package)
            except importlib.metadata.PackageNotFoundError:
                versions[package] = None
        h.update(json.dumps({"env": sorted(env.items()), "project": str(project_dir),
                             "python": sys.version, "versions": versions}).encode())
        for path in sorted(project_files(project_dir)):
            try:
                content = path.read_bytes()
            except OSError:
                continue
            h.update(b"\0" + str(path.relative_to(project_dir)).encode() + b"\0")
            h.update(hashlib.sha256(content).digest())
        return h.hexdigest()[:40]

    def load(self):
        """The cached manifest, or None. Call with the parse's environment in ``os.environ``."""
        import pickle

        try:
            data = self.path.read_bytes()
        except OSError:
            return None
        try:
            from dbt.contracts.graph.manifest import Manifest

            manifest = Manifest(**pickle.loads(data))
        except Exception:  # a truncated or foreign file: parse instead
            logger.debug(f"dbt manifest cache: {self.path.name} unreadable, parsing")
            return None
        recorded = dict(getattr(manifest, "env_vars", None) or {})
        if any(os.environ.get(name, self.UNSET) != value for name, value in recorded.items()):
            return None
        with contextlib.suppress(OSError):
            os.utime(self.path)  # recently used: kept by the clean-up below
        return manifest

    def save(self, manifest) -> None:
        import pickle

        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            state = {f.name: getattr(manifest, f.name) for f in dataclasses.fields(manifest)
                     if not f.name.startswith("_")}
            tmp.write_bytes(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
            os.replace(tmp, self.path)
            cached = sorted(self.folder.glob("*.pickle"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in cached[self.KEEP:]:
                old.unlink(missing_ok=True)
        except (OSError, pickle.PicklingError, TypeError) as exc:  # a cache: never fails a run
            logger.debug(f"dbt manifest cache: not written ({exc})")


def _error_collector(errors: list[str]):
    def collect(msg) -> None:
        if msg.info.level == "error":
            errors.append(msg.info.msg)

    return collect


def _reset_compiled_state(manifest) -> None:
    """Give every node the compile state a fresh parse leaves. dbt compiles nodes in place on
    the shared ``Manifest``: SQL is rendered again on every invocation, but ephemeral models'
    CTEs are injected only into nodes not flagged ``extra_ctes_injected`` yet, so a second
    invocation would otherwise run SQL without them (none in this project today)."""
    for node in manifest.nodes.values():
        if hasattr(node, "extra_ctes_injected"):
            node.compiled = False
            node.compiled_code = None
            node.extra_ctes_injected = False
            node.extra_ctes = []


def _scrub(value: Any, secrets: Sequence[str]) -> Any:
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "*****")
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, secrets) for v in value]
    return value


@dataclass
class DbtInvocation:
    """One in-process dbt command and what it left: result events (dbt's structured-log dicts,
    secrets scrubbed), error messages, dbt's own result object and timings."""

    args: list[str]
    target_path: Path
    success: bool = False
    result: Any = None  # dbt's RunExecutionResult for build/run/test/compile
    exception: BaseException | None = None
    events: list[dict] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    event_names: Counter = field(default_factory=Counter)  # every event dbt fired, by name
    seconds: float = 0.0

    @property
    def command(self) -> str:
        return " ".join(["dbt", *self.args])

    def failures(self) -> list[str]:
        """``unique_id: message`` of every node that errored or failed (a failing test)."""
        results = getattr(self.result, "results", None) or []
        out = []
        for r in results:
            status = str(getattr(r.status, "value", r.status))
            if status in ("error", "fail", "runtime error"):
                out.append(f"{r.node.unique_id}: {r.message or status}")
        return out


def invoke(args: Sequence[str], *, env: Mapping[str, str], target_path: Path, manifest,
           project_dir: Path = SQL_DIR, profiles_dir: Path = SQL_DIR) -> DbtInvocation:
    """Run one dbt command in this process on a parsed ``manifest`` with ``env`` in
    ``os.environ`` for its length; every connection is closed afterwards."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    secrets = [v for k, v in env.items() if k.startswith(SECRET_PREFIX) and v.strip()]
    full_args = [*args, *_common_args(Path(project_dir), Path(profiles_dir), target_path)]
    invocation = DbtInvocation(args=list(args), target_path=target_path)
    events, errors = invocation.events, invocation.errors

    def on_event(msg) -> None:  # called from dbt's worker threads
        name = msg.info.name
        invocation.event_names[name] += 1
        if name in RESULT_EVENTS:
            events.append(_scrub(msg_to_dict(msg), secrets))
        elif msg.info.level == "error":
            errors.append(_scrub(msg.info.msg, secrets))

    with _INVOKE_LOCK:
        _warn_once_about_versions()
        _reset_compiled_state(manifest)
        started = time.monotonic()
        try:
            with temporary_environ({**QUIET_ENV, **env}):
                outcome = dbtRunner(manifest=manifest, callbacks=[on_event]).invoke(full_args)
        finally:
            release_dbt_connections()
            _forget_invocation_state()
        invocation.seconds = time.monotonic() - started
    invocation.success = bool(outcome.success)
    invocation.result = outcome.result
    invocation.exception = outcome.exception
    if hasattr(outcome.result, "write"):  # dbt's run_results.json, as the CLI writes it
        target_path.mkdir(parents=True, exist_ok=True)
        outcome.result.write(str(target_path / "run_results.json"))
    if outcome.exception is not None:
        errors.append(_scrub(f"{type(outcome.exception).__name__}: {outcome.exception}", secrets))
    return invocation


def dbt_selection(context, manifest_json: Mapping[str, Any], translator, exclude: Sequence = ()) -> list[str]:
    """dbt's selection arguments for the step's selected assets and checks.

    The whole multi-asset: dagster-dbt's own arguments (``--select path:models/<system>``, dbt's
    default eager indirect selection: every test of the system). A subset (one model from the
    UI, ``music-dwh load --through star``, or daily models left out of a run without a
    partition): exactly the selected models and the tests of the selected checks, with indirect
    selection off. dagster-dbt would list the models only and let eager selection add their
    tests, which also adds tests *attached to unselected models* that merely reference a
    selected one (a mart's relationship test to a dimension): those run against tables the run
    does not build (missing in a new warehouse: the step fails) and are only recorded as
    observations. In-process there is no command-line length limit, so the selection is never
    moved into a generated ``selectors.yml`` either (``DbtCliResource.cli`` does that past 200
    resources)."""
    from dagster_dbt.asset_utils import (
        DAGSTER_DBT_EXCLUDE_METADATA_KEY,
        DAGSTER_DBT_SELECT_METADATA_KEY,
        DAGSTER_DBT_SELECTOR_METADATA_KEY,
        get_dbt_resource_names_for_asset_keys,
        get_dbt_test_names_for_check_keys,
        get_subset_selection_for_context,
    )

    assets_def = context.assets_def
    is_subset = (assets_def.keys_by_output_name != assets_def.node_keys_by_output_name
                 or assets_def.check_specs_by_output_name != assets_def.node_check_specs_by_output_name)
    if not is_subset and not exclude:
        tags = context.op.tags
        selection, indirect = get_subset_selection_for_context(
            context=context,
            manifest=manifest_json,
            select=tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
            exclude=tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
            selector=tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY),
            dagster_dbt_translator=translator,
            current_dbt_indirect_selection_env=None,
        )
        return [*selection, *(["--indirect-selection", indirect] if indirect else [])]
    left_out = set(exclude)
    keys = sorted((k for k in context.selected_asset_keys if k not in left_out), key=str)
    checks = sorted((c for c in context.selected_asset_check_keys if c.asset_key not in left_out), key=str)
    names = [*get_dbt_resource_names_for_asset_keys(translator, manifest_json, assets_def, keys),
             *get_dbt_test_names_for_check_keys(translator, manifest_json, assets_def, checks)]
    return ["--select", " ".join(names), "--indirect-selection", "empty"]


class DbtRunner(ConfigurableResource):
    """The dbt project run in-process (see the module's docstring). Resource key ``dbt``."""

    project_dir: str = str(SQL_DIR)
    profiles_dir: str = str(SQL_DIR)

    def unique_target_path(self, context) -> Path:
        """``sql/target/<step>-<run id[:7]>-<uuid[:7]>``, dagster-dbt's naming (the benchmark
        reads ``run_results.json`` there)."""
        name = f"{context.op_execution_context.op.name}-{context.run.run_id[:7]}-{str(uuid.uuid4())[:7]}"
        return Path(self.project_dir) / "target" / name

    def build(self, context, dbt_env: Mapping[str, str], exclude: Sequence = ()) -> tuple[
        DbtInvocation, list]:
        """``dbt build`` of the step's selected models and checks, minus the models (and their
        checks) of the asset keys ``exclude``. Returns the invocation and the Dagster events of
        its results (``Output``/``AssetCheckResult``/``AssetObservation``), in dbt's order. Logs
        "Running dbt command" / "Finished dbt command" lines, which the benchmark's profile uses
        to split dbt's time."""
        from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
        from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

        manifest_json, translator, project = get_manifest_and_translator_from_dbt_assets([context.assets_def])
        args = ["build", *BUILD_EXCLUDE, *dbt_selection(context, manifest_json, translator, exclude)]
        manifest = parsed_manifest(dbt_env, Path(self.project_dir), Path(self.profiles_dir))
        target_path = self.unique_target_path(context)
        command = " ".join(["dbt", *args])
        context.log.info(f"Running dbt command: `{command}`.")
        invocation = invoke(args, env=dbt_env, target_path=target_path, manifest=manifest,
                            project_dir=Path(self.project_dir), profiles_dir=Path(self.profiles_dir))
        elapsed = getattr(invocation.result, "elapsed_time", None)
        context.log.info(
            f"Finished dbt command: `{command}` in {invocation.seconds:.2f} s"
            + (f" (dbt's execution {elapsed:.2f} s)" if elapsed is not None else "") + "."
        )
        started = time.monotonic()
        dagster_events = []
        for raw in invocation.events:
            message = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            dagster_events.extend(message.to_default_asset_events(
                manifest=manifest_json, dagster_dbt_translator=translator, context=context,
                target_path=target_path, project=project))
        context.log.debug(f"{len(invocation.events)} dbt results converted to {len(dagster_events)} "
                          f"Dagster events in {time.monotonic() - started:.2f} s.")
        return invocation, dagster_events
