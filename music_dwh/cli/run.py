"""``music-dwh load``'s run: materialize a source system's assets for a range of days as one
Dagster run, in the worker process that ``supervisor`` starts.

Before the run, dead runs of the instance are cleaned up (``music_dwh.instance.cleanup``); on
DuckDB the run waits (sleeping, visibly, bounded) for the warehouse's writer lock; the run
records which process executes it (``music_dwh.instance.liveness``) so a later command can tell
when it died. Its progress is shown by this package's own logger (``progress``), which only
the command's runs carry: the definitions the UI and the daemon load do not declare it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from music_dwh.settings import get_settings

Say = Callable[[str], None]

# The layers of every source system, in the order data flows through them (the ``layer`` tag
# of each asset); ``music-dwh load --through LAYER`` materializes up to and including one.
LAYERS = ("raw", "staging", "star", "mart", "report")


@dataclass(frozen=True)
class LoadPlan:
    """One system's range of days, and the id its run will have (known before it exists, so
    the supervisor can cancel it)."""

    system: str
    start: dt.date
    end: dt.date
    run_id: str
    through: str = "report"  # the last layer materialized
    verbose: bool = False  # Dagster's full console log instead of the progress display

    def to_json(self) -> dict:
        return {
            "system": self.system,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "run_id": self.run_id,
            "through": self.through,
            "verbose": self.verbose,
        }

    @classmethod
    def from_json(cls, data: dict) -> LoadPlan:
        return cls(
            data["system"],
            dt.date.fromisoformat(data["start"]),
            dt.date.fromisoformat(data["end"]),
            data["run_id"],
            data.get("through", "report"),
            data.get("verbose", False),
        )


@functools.cache
def _definitions(verbose: bool):
    """The project's definitions, with the progress display as a logger of every job unless the
    run shows Dagster's full log (``-v``: the console logger, Dagster's default)."""
    from dagster import Definitions

    from music_dwh.cli.progress import LOGGER_NAME, progress_logger
    from music_dwh.definitions import defs

    if verbose:
        return defs
    return Definitions.merge(defs, Definitions(loggers={LOGGER_NAME: progress_logger}))


def run_load(plan: LoadPlan, say: Say) -> bool:
    """Materialize every asset of ``plan.system`` for its days as one Dagster run."""
    from dagster import AssetSelection, DagsterInstance

    from music_dwh.framework import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
        MAX_RETRIES_TAG,
    )
    from music_dwh.instance.cleanup import clean_dead_runs
    from music_dwh.instance.liveness import process_tags
    from music_dwh.resources.dbt_manifest import ensure_manifest
    from music_dwh.resources.warehouse import Warehouse

    settings = get_settings()
    system = plan.system
    instance = DagsterInstance.get()
    clean_dead_runs(instance, say)
    # A server that cannot be reached or refuses the credentials is one line, not a failed run.
    Warehouse.from_env().check_connection()
    ensure_manifest(Warehouse(url=settings.warehouse.url).dbt_env())
    defs = _definitions(plan.verbose)
    graph = defs.resolve_asset_graph()
    layers = LAYERS[: LAYERS.index(plan.through) + 1]
    selection = AssetSelection.groups(system) & AssetSelection.tag("layer", layers[0])
    for layer in layers[1:]:
        selection = selection | (AssetSelection.groups(system) & AssetSelection.tag("layer", layer))
    keys = sorted(selection.resolve(graph))
    # Every check of those assets runs in the same run, except wall-clock freshness: the
    # freshness sensor evaluates that one (a backfill of old days is stale by definition).
    checks = {
        k for k in graph.asset_check_keys if k.asset_key in keys and k.name != "freshness_check"
    }
    # A subset of the system's own job, so the run shows under `<system>_job` in the UI.
    job = defs.resolve_job_def(f"{system}_job").get_subset(
        asset_selection=set(keys), asset_check_selection=checks
    )
    days = (plan.end - plan.start).days + 1
    command = f"music-dwh load {system}"
    through = "" if plan.through == LAYERS[-1] else f" through the {plan.through} layer"
    say(
        f"Loading {system}{through}: {days} day(s) {plan.start} … {plan.end}, {len(keys)} assets, "
        f"{len(checks)} checks, from {settings.raw} into {settings.warehouse.redacted()} "
        f"(run {plan.run_id[:8]})"
    )
    layer_of = {k.to_user_string(): graph.get(k).tags.get("layer", "") for k in keys}
    quarantine = importlib.import_module(f"music_dwh.staging.{system}").QUARANTINE_TABLE
    if plan.verbose:
        loggers = {"console": {"config": {"log_level": "INFO"}}}
    else:
        from music_dwh.cli.progress import LOGGER_NAME

        config = {"system": system, "layers": layer_of, "quarantine_table": quarantine}
        loggers = {LOGGER_NAME: {"config": config}}
    with _writer_lock(settings, plan.run_id, command, lambda: clean_dead_runs(instance, say), say):
        if plan.through == "report":
            # The report step comes last: matplotlib loads meanwhile, off the critical path
            # (once the warehouse is ours: waiting for it stays quiet).
            from music_dwh.reports.kit import warm_up

            warm_up()
        started = time.monotonic()
        result = job.execute_in_process(
            instance=instance,
            run_id=plan.run_id,
            tags={
                ASSET_PARTITION_RANGE_START_TAG: plan.start.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: plan.end.isoformat(),
                # Nothing re-executes this run (the daemon needs a code location): without this
                # Dagster would tag a failed one dagster/will_retry=true. Run it again instead.
                MAX_RETRIES_TAG: "0",
                **process_tags(command),
            },
            run_config={"loggers": loggers},
            raise_on_error=False,
        )
    from music_dwh.automation.failures import failure_of
    from music_dwh.cli.progress import Counts, close_progress

    close_progress()
    elapsed = time.monotonic() - started
    failure = None if result.success else failure_of(result.all_events)
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    if evaluations or result.success:
        say(f"{system}: checks {len(evaluations) - len(failed)} passed, {len(failed)} failed")
    for e in failed:
        if failure is None or e not in failure.checks:  # else the failure's reason names it
            say(
                f"  {e.severity.value.lower()}: {e.asset_key.to_user_string()} {e.check_name}"
                + (f" — {e.description}" if e.description else "")
            )
    if result.success:
        tally = Counts(system, layer_of, quarantine)
        for event in result.all_events:
            tally.add(event)
        problems = tally.data_problems(tally.quarantined, len(tally.days_without_file))
        say(
            f"{system}: run {result.run_id} succeeded in {elapsed:.1f} s"
            + "".join(f"; {p}" for p in problems)
        )
        return True
    # Two lines at most: what failed and what to do; the rest is in -v's log and the UI.
    first, *more = failure.reason.splitlines() or [""]
    say(f"{system}: run {result.run_id} FAILED after {elapsed:.1f} s: {first}")
    if more:
        rest = " (more with -v)" if len(more) > 1 and not plan.verbose else ""
        say(f"  {more[0].strip()}{rest}")
    return False


def _writer_lock(settings, run_id: str, command: str, while_waiting: Callable[[], None], say: Say):
    """Wait for the DuckDB file before the run starts: a run waiting inside Dagster would show
    as started. Server warehouses take their own locks per partition."""
    if settings.warehouse.engine != "duckdb":
        return contextlib.nullcontext()
    from music_dwh.resources.writer_lock import exclusive_writer

    return exclusive_writer(
        settings.warehouse.path,
        timeout=settings.lock_timeout_seconds,
        say=say,
        run_id=run_id,
        command=command,
        while_waiting=while_waiting,
    )
