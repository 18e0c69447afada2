"""dbt inside the run's process: dbt-core's programmatic runner (``dbtRunner``), documented at
https://docs.getdbt.com/reference/programmatic-invocations, instead of a ``dbt`` subprocess per
step (≈4-5 s of process start-up, ``dbt --version`` and partial parse each). The ``Manifest``
each invocation runs on is parsed once per process, or loaded (``dbt_manifest.py``); what dbt
keeps per process, and the internals' verified versions, are ``dbt_process.py``'s.

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
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dagster import ConfigurableResource

from music_dwh.dbt_project import QUIET_ENV, SQL_DIR
from music_dwh.resources.dbt_manifest import parsed_manifest
from music_dwh.resources.dbt_process import (
    INVOKE_LOCK,
    SECRET_PREFIX,
    common_args,
    forget_invocation_state,
    release_dbt_connections,
    warn_once_about_versions,
)
from music_dwh.settings import temporary_environ

# Structured events that carry a node's result: what dagster-dbt turns into Dagster events.
RESULT_EVENTS = frozenset({"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"})
# dbt build runs unit tests by default: they check the SQL on fixtures, not the run's data,
# so in a run they only add nodes and time (the system's path selection picks them up).
# The test suite runs them instead (music_dwh_tests/sql/test_unit_tests.py).
BUILD_EXCLUDE = ("--exclude-resource-type", "unit_test")
# Creates the selected models' tables empty (dbt renders every ref/source as zero rows) and
# loads the selected seeds whole (reference data; --empty leaves seeds alone), in dependency
# order: a model reading a seed can only be created once the seed's table exists.
CREATE_EMPTY = ("build", "--empty", "--resource-type", "model", "--resource-type", "seed")


def _reset_compiled_state(manifest) -> None:
    """Give every node the compile state a fresh parse leaves. dbt compiles nodes in place on
    the shared ``Manifest``: SQL is rendered again on every invocation, but ephemeral models'
    CTEs are injected only into nodes not flagged ``extra_ctes_injected`` yet, so a second
    invocation would otherwise run SQL without them (none in this project today). Seeds are
    never compiled: nothing to reset."""
    from dbt.contracts.graph.nodes import CompiledNode

    for node in manifest.nodes.values():
        if isinstance(node, CompiledNode):
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


def invoke(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    target_path: Path,
    manifest,
    project_dir: Path = SQL_DIR,
    profiles_dir: Path = SQL_DIR,
) -> DbtInvocation:
    """Run one dbt command in this process on a parsed ``manifest`` with ``env`` in
    ``os.environ`` for its length; every connection is closed afterwards."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    secrets = [v for k, v in env.items() if k.startswith(SECRET_PREFIX) and v.strip()]
    full_args = [*args, *common_args(Path(project_dir), Path(profiles_dir), target_path)]
    invocation = DbtInvocation(args=list(args), target_path=target_path)
    events, errors = invocation.events, invocation.errors

    def on_event(msg) -> None:  # called from dbt's worker threads
        name = msg.info.name
        invocation.event_names[name] += 1
        if name in RESULT_EVENTS:
            events.append(_scrub(msg_to_dict(msg), secrets))
        elif msg.info.level == "error":
            errors.append(_scrub(msg.info.msg, secrets))

    with INVOKE_LOCK:
        warn_once_about_versions()
        _reset_compiled_state(manifest)
        started = time.monotonic()
        try:
            with temporary_environ({**QUIET_ENV, **env}):
                outcome = dbtRunner(manifest=manifest, callbacks=[on_event]).invoke(full_args)
        finally:
            release_dbt_connections()
            forget_invocation_state()
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


def dbt_selection(
    context, manifest_json: Mapping[str, Any], translator, exclude: Sequence = ()
) -> list[str]:
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
    is_subset = (
        assets_def.keys_by_output_name != assets_def.node_keys_by_output_name
        or assets_def.check_specs_by_output_name != assets_def.node_check_specs_by_output_name
    )
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
    checks = sorted(
        (c for c in context.selected_asset_check_keys if c.asset_key not in left_out), key=str
    )
    names = [
        *get_dbt_resource_names_for_asset_keys(translator, manifest_json, assets_def, keys),
        *get_dbt_test_names_for_check_keys(translator, manifest_json, assets_def, checks),
    ]
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

    def build(
        self, context, dbt_env: Mapping[str, str], exclude: Sequence = ()
    ) -> tuple[DbtInvocation, list]:
        """``dbt build`` of the step's selected models and checks, minus the models (and their
        checks) of the asset keys ``exclude``. Returns the invocation and the Dagster events of
        its results (``Output``/``AssetCheckResult``/``AssetObservation``), in dbt's order. Logs
        "Running dbt command" / "Finished dbt command" lines, which the benchmark's profile uses
        to split dbt's time."""
        from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
        from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

        manifest_json, translator, project = get_manifest_and_translator_from_dbt_assets(
            [context.assets_def]
        )
        args = [
            "build",
            *BUILD_EXCLUDE,
            *dbt_selection(context, manifest_json, translator, exclude),
        ]
        manifest = parsed_manifest(dbt_env, Path(self.project_dir), Path(self.profiles_dir))
        target_path = self.unique_target_path(context)
        command = " ".join(["dbt", *args])
        context.log.info(f"Running dbt command: `{command}`.")
        invocation = invoke(
            args,
            env=dbt_env,
            target_path=target_path,
            manifest=manifest,
            project_dir=Path(self.project_dir),
            profiles_dir=Path(self.profiles_dir),
        )
        elapsed = getattr(invocation.result, "elapsed_time", None)
        context.log.info(
            f"Finished dbt command: `{command}` in {invocation.seconds:.2f} s"
            + (f" (dbt's execution {elapsed:.2f} s)" if elapsed is not None else "")
            + "."
        )
        started = time.monotonic()
        dagster_events = []
        for raw in invocation.events:
            message = DbtCoreCliEventMessage(raw_event=raw, event_history_metadata={})
            dagster_events.extend(
                message.to_default_asset_events(
                    manifest=manifest_json,
                    dagster_dbt_translator=translator,
                    context=context,
                    target_path=target_path,
                    project=project,
                )
            )
        context.log.debug(
            f"{len(invocation.events)} dbt results converted to {len(dagster_events)} "
            f"Dagster events in {time.monotonic() - started:.2f} s."
        )
        return invocation, dagster_events
