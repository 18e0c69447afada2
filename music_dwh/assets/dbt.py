"""dbt models (``sql/models/<system>``) as Dagster assets, through dagster-dbt.

Each source system's models are one ``@dbt_assets`` multi-asset, ``<system>_dbt``: one step
that runs one in-process ``dbt build`` (``resources/dbt_cli.py``) of dimensions, daily facts and
marts in dependency order. The daily incremental models (tag ``daily``) carry the system's
daily partitions and get the run's window; the other models are rebuilt whole. Models keep
their seed names as asset keys under the system's prefix (``sparkify/songplays``). The dbt
seeds in ``sql/seeds/<system>`` (small reference tables, such as US states' time zones) are
assets of the same multi-asset: the build loads them before the models that read them.
"""

import datetime as dt
import json
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSelection,
    AutomationCondition,
    BackfillPolicy,
    Failure,
    MetadataValue,
    Output,
    PartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, dbt_assets

from music_dwh.assets.metadata import (
    add_day_metadata,
    days_in_window,
    partition_row_counts,
    table_metadata,
)
from music_dwh.dbt_project import dbt_project
from music_dwh.framework import CheckError
from music_dwh.partitions import daily
from music_dwh.resources.dbt_cli import DbtRunner
from music_dwh.resources.dbt_process import WINDOW_VARIABLES
from music_dwh.resources.warehouse import Warehouse
from music_dwh.settings import SOURCE_SYSTEMS
from music_dwh.tags import WAREHOUSE_POOL

LAYERS = {"marts": "mart"}


class MusicDwhTranslator(DagsterDbtTranslator):
    """``sql/models/<system>/<model>.sql`` (and ``sql/seeds/<system>/<seed>.csv``) → asset key
    ``<system>/<model>``, group ``<system>``."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return AssetKey([dbt_resource_props["fqn"][1], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props["fqn"][1]

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        fqn = dbt_resource_props["fqn"]
        layer = LAYERS.get(fqn[2], "star") if len(fqn) > 3 else "star"
        return {**super().get_tags(dbt_resource_props), "layer": layer, "source_system": fqn[1]}

    def get_partitions_def(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> PartitionsDefinition | None:
        # Only the daily incremental models are partitioned, by their system's days; the
        # multi-asset mixes them with whole-table models (allowed: @dbt_assets can subset).
        if dbt_resource_props.get("resource_type") == "model" and "daily" in dbt_resource_props.get(
            "tags", []
        ):
            return daily(dbt_resource_props["fqn"][1])
        return None

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:analytics-engineering"]

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> AutomationCondition | None:
        # A mart aggregates many days: rebuild it whenever a day upstream is (re)loaded by a run
        # that did not rebuild it (a late day, a one-day fix), once its inputs are idle. Not
        # eager(): that waits for every upstream day to exist, which never holds for gappy data.
        if (
            dbt_resource_props.get("resource_type") != "model"
            or "marts" not in dbt_resource_props["fqn"]
        ):
            return None
        # Only what exists is refreshed (~missing): a dimension reloaded by the song catalogue's
        # run would otherwise flag every day of a daily mart since the first partition, thousands
        # of never-loaded days, and request them all; a day's own run builds its partitions.
        return (
            AutomationCondition.any_deps_updated().since_last_handled()
            & ~AutomationCondition.missing()
            & ~AutomationCondition.any_deps_in_progress()
            & ~AutomationCondition.in_progress()
        ).with_label("refresh after an upstream day is loaded")


translator = MusicDwhTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))


def _with_table_metadata(
    context: AssetExecutionContext,
    events: list,
    warehouse: Warehouse,
    window: tuple[str, str] | None,
) -> Iterator:
    """Add row counts, schema and a preview to dbt's materializations. Runs after the dbt
    invocation, once dbt has closed its connections: on DuckDB, dbt and this session may not
    hold the file at the same time (one writer, and a second database instance in the same
    process could read stale data).

    A daily model built for a window gets each day's row count on that day's materialization,
    and dbt's and the table's metadata once, on the last day (``add_day_metadata``)."""
    spent, models = 0.0, 0
    days = days_in_window(*map(dt.datetime.fromisoformat, window)) if window else []
    with warehouse.session() as session:
        for event in events:
            if isinstance(event, Output | AssetMaterialization):
                started = time.monotonic()
                key = (
                    event.asset_key
                    if isinstance(event, AssetMaterialization)
                    else context.asset_key_for_output(event.output_name)
                )
                table = ".".join(key.path)
                partition_column = _partition_columns().get(key.path[-1])
                span = (partition_column, *window) if window and partition_column else None
                extra = table_metadata(session, table, span=span)
                extra.update(_match_metadata(session, table, span))
                if "waiting_for" in extra:
                    context.log.warning(f"{table}: waiting for {extra['waiting_for'].value}")
                if span and isinstance(event, Output):
                    rows = partition_row_counts(session, table, days, day_column=partition_column)
                    add_day_metadata(context, key, rows, last_day={**event.metadata, **extra})
                    event = event.with_metadata({})
                else:
                    event = event.with_metadata({**event.metadata, **extra})
                spent, models = spent + time.monotonic() - started, models + 1
            yield event
    if models:
        context.log.debug(f"Table metadata of {models} model(s) queried in {spent:.2f} s.")


def _match_metadata(session, table: str, span) -> dict:
    """The share of plays matched to a catalogue song (``songplays``; the window's, if any)."""
    if table != "sparkify.songplays":
        return {}
    plays = session.count_rows(table, span=span)
    matched = session.count_rows(table, span=span, non_null="song_id")
    songs = session.count_rows("sparkify.song_match_keys")
    metadata = {
        "matched_plays": int(matched),
        "song_match_rate": MetadataValue.float(round(matched / plays, 6) if plays else 0.0),
        "catalogue_songs": int(songs),
    }
    if not songs:
        # A day before the catalogue: its plays cannot be matched yet. Not a failure: the
        # catalogue's run re-matches every delivered day (automation/sensors.py).
        metadata["waiting_for"] = MetadataValue.text(
            "the song catalogue: no song loaded yet, so no play is matched; the catalogue's run "
            "rebuilds these days with it"
        )
    return metadata


_PARTITION_COLUMNS: dict[str, str] | None = None


def _partition_columns() -> dict[str, str]:
    """model name → its partition column (``meta.partition_column`` in the model config)."""
    global _PARTITION_COLUMNS
    if _PARTITION_COLUMNS is None:
        manifest = json.loads(dbt_project.manifest_path.read_text())
        _PARTITION_COLUMNS = {
            node["name"]: node["config"]["meta"]["partition_column"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model"
            and node["config"].get("meta", {}).get("partition_column")
        }
    return _PARTITION_COLUMNS


def _partition_window(
    context: AssetExecutionContext, partitions_def: TimeWindowPartitionsDefinition
) -> tuple[str, str] | None:
    """The run's days (one day or a range) as ``[start, end)`` ISO dates, or None for a run
    without a partition."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    keys = context.partition_key_range
    start = partitions_def.time_window_for_partition_key(keys.start).start
    end = partitions_def.time_window_for_partition_key(keys.end).end
    return start.date().isoformat(), end.date().isoformat()


def run_dbt(
    context: AssetExecutionContext,
    dbt: DbtRunner,
    warehouse: Warehouse,
    partitions_def: TimeWindowPartitionsDefinition,
) -> Iterator:
    """One in-process ``dbt build`` of the step's selected models and tests, in dependency order,
    then the table metadata of every model built.

    A run with a partition (one day or a range) hands the window to the daily models as
    environment variables read by ``sql/macros/partition_window.sql``. A run without a partition
    builds only the whole-table models it selected: a daily model's rows belong to days, and
    Dagster can only record a daily model's materialization for days. Selected daily models are
    then left out of ``dbt build`` with a warning naming them (materialize a day or a range to
    rebuild them)."""
    window = _partition_window(context, partitions_def)
    # The window reaches sql/macros/partition_window.sql as environment variables, read only
    # in SQL bodies and hooks (rendered per invocation), never at parse time.
    dbt_env = {
        **warehouse.dbt_env(),
        **(dict(zip(WINDOW_VARIABLES, window, strict=True)) if window else {}),
    }
    create_missing_model_tables(context, dbt, warehouse, dbt_env)
    skipped = []
    if window is None:
        skipped = sorted(
            (
                key
                for key in context.selected_asset_keys
                if context.assets_def.specs_by_key[key].partitions_def is not None
            ),
            key=lambda k: k.to_user_string(),
        )
        if skipped:
            context.log.warning(
                "This run has no partition, so these daily models are not rebuilt (their rows "
                "belong to days; materialize a day or a range of days to rebuild them): "
                + ", ".join(k.to_user_string() for k in skipped)
            )
        left = set(context.selected_asset_keys) - set(skipped)
        if (
            skipped
            and not left
            and all(c.asset_key in skipped for c in context.selected_asset_check_keys)
        ):
            return  # nothing else to build or test
    invocation, events = dbt.build(context, dbt_env, exclude=skipped)
    yield from _with_table_metadata(context, events, warehouse, window)
    if not invocation.success:
        # Built models were reported above; a failed model or error-severity test (a blocking
        # check) fails the step so nothing downstream of it runs.
        failures = invocation.failures() or invocation.errors or ["dbt failed without a result"]
        raise Failure(
            description="dbt build failed:\n" + "\n".join(failures[:20]),
            metadata={
                "dbt_failures": len(invocation.failures()),
                "dbt_command": invocation.command,
            },
        )


def create_missing_model_tables(
    context: AssetExecutionContext, dbt: DbtRunner, warehouse: Warehouse, dbt_env: Mapping[str, str]
) -> list[str]:
    """Create, empty, the tables of this system's models that do not exist yet.

    Any subset of the graph must run on an empty or partial warehouse: a run without a
    partition (the song catalogue or reference snapshots arriving first) builds only
    whole-table models, and its marts read daily facts (``songplays``, ``*_daily``) no day has
    built yet; a report reads every mart, also those the run does not select. So before the
    build, every model table still missing is created with ``dbt build --empty`` of models and
    seeds (dbt renders each ``ref``/``source`` as zero rows; a seed, reference data, is loaded
    whole): right columns, no rows. Only missing tables are
    touched, in dependency order; nothing is recorded in Dagster for them (nothing was built);
    the build that follows, or a later run, fills them. Costs one catalog lookup per model once
    they all exist.
    """
    from music_dwh.resources.dbt_cli import CREATE_EMPTY, invoke
    from music_dwh.resources.dbt_manifest import parsed_manifest

    # Only what this run reads: the models upstream of (or among) the assets it executes (a
    # report reads every mart). `music-dwh load --through star` creates no mart.
    # The whole graph (the repository's) when there is one: a run's job may be a subset that
    # lacks the upstream. A job executed outside a repository (`music-dwh load`'s worker)
    # holds its own upstream.
    try:
        graph = context.repository_def.asset_graph
    except CheckError:  # "No repository definition was set on the step context"
        graph = context.job_def.asset_layer.asset_graph
    keys = set(context.assets_def.specs_by_key)
    executed = context.run.asset_selection or context.job_def.asset_layer.selected_asset_keys
    keys &= AssetSelection.assets(*executed).upstream().resolve(graph)
    tables = {".".join(key.path): key.path[-1] for key in keys}
    with warehouse.session() as session:
        missing = sorted(name for table, name in tables.items() if not session.table_exists(table))
    if not missing:
        return []
    # The build's environment: its parsed manifest is then the build's too (one parse).
    manifest = parsed_manifest(dbt_env, Path(dbt.project_dir), Path(dbt.profiles_dir))
    invocation = invoke(
        [*CREATE_EMPTY, "--select", " ".join(missing)],
        env=dbt_env,
        target_path=dbt.unique_target_path(context),
        manifest=manifest,
        project_dir=Path(dbt.project_dir),
        profiles_dir=Path(dbt.profiles_dir),
    )
    if not invocation.success:
        raise Failure(
            description=f"could not create the empty tables {', '.join(missing)}:\n"
            + "\n".join((invocation.failures() or invocation.errors)[:20])
        )
    context.log.info(
        f"Created {len(missing)} missing table(s) empty ({', '.join(missing)}): nothing was loaded "
        "into them yet, so the models that read them build empty instead of failing."
    )
    return missing


def _manifest_models() -> list[dict]:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def _dbt_selection(system: str) -> str:
    """dbt's selection of a system's nodes: its models and, if it has any, its seeds (dbt warns
    about a path that matches nothing)."""
    folders = [
        "models",
        *(["seeds"] if (dbt_project.project_dir / "seeds" / system).is_dir() else []),
    ]
    return " ".join(f"path:{folder}/{system}" for folder in folders)


def build_dbt_assets(system: str, partitions_def: TimeWindowPartitionsDefinition):
    """A source system's dbt models as one multi-asset, ``<system>_dbt``: one step, one
    ``dbt build`` of dimensions, daily facts and marts in dependency order.

    Only the daily models (tag ``daily``) carry the system's daily partitions (the translator's
    ``get_partitions_def``); the whole-table models ride along in a partitioned run and run
    alone in a run without a partition. Any subset can be materialized (``@dbt_assets`` sets
    ``can_subset``). ``BackfillPolicy.single_run()``: a range of days is one run, one step.
    """
    models = [m for m in _manifest_models() if m["fqn"][1] == system]
    if not models:
        return None

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=_dbt_selection(system),
        name=f"{system}_dbt",
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
        pool=WAREHOUSE_POOL,
    )
    def system_models(context: AssetExecutionContext, dbt: DbtRunner, warehouse: Warehouse):
        yield from run_dbt(context, dbt, warehouse, partitions_def)

    return system_models


# Every source system's models, by system: none for a system without models in sql/models.
DBT_ASSETS = {
    system: [a for a in [build_dbt_assets(system, daily(system))] if a] for system in SOURCE_SYSTEMS
}
