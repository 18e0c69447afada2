"""dbt models (``sql/models/<system>``) as Dagster assets, through dagster-dbt.

Each source system gets two dbt multi-assets: its daily incremental models (tag ``daily``),
partitioned like its staging tables and handed the partition window as dbt vars, and its
unpartitioned models (dimensions rebuilt whole). Models keep their seed names as asset keys
under the system's prefix (``sparkify/songplays``).
"""


import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AutomationCondition,
    BackfillPolicy,
    Failure,
    MetadataValue,
    Output,
    PartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from music_dwh.assets.metadata import table_metadata
from music_dwh.assets.sparkify import WAREHOUSE_POOL
from music_dwh.dbt_project import dbt_project
from music_dwh.partitions import chinook_daily, sparkify_daily
from music_dwh.resources.warehouse import Warehouse

LAYERS = {"marts": "mart"}


class MusicDwhTranslator(DagsterDbtTranslator):
    """``sql/models/<system>/<model>.sql`` → asset key ``<system>/<model>``, group ``<system>``."""

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

    def get_owners(self, dbt_resource_props: Mapping[str, Any]):
        return ["team:analytics-engineering"]

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        # A mart aggregates many days: rebuild it whenever a day upstream is (re)loaded by a run
        # that did not rebuild it (a late day, a one-day fix), once its inputs are idle. Not
        # eager(): that waits for every upstream day to exist, which never holds for gappy data.
        if dbt_resource_props.get("resource_type") != "model" or "marts" not in dbt_resource_props["fqn"]:
            return None
        return (
            AutomationCondition.any_deps_updated().since_last_handled()
            & ~AutomationCondition.any_deps_in_progress()
            & ~AutomationCondition.in_progress()
        ).with_label("refresh after an upstream day is loaded")


translator = MusicDwhTranslator(settings=DagsterDbtTranslatorSettings(enable_code_references=False))


def _with_table_metadata(
    context: AssetExecutionContext, events: list, warehouse: Warehouse, window: tuple[str, str] | None
) -> Iterator:
    """Add row counts, schema and a preview to dbt's materializations. Runs after dbt exits:
    DuckDB lets only one process open the file, so it cannot be queried while dbt runs."""
    with warehouse.session() as session:
        for event in events:
            if isinstance(event, Output | AssetMaterialization):
                key = (
                    event.asset_key
                    if isinstance(event, AssetMaterialization)
                    else context.asset_key_for_output(event.output_name)
                )
                table = ".".join(key.path)
                partition_column = _partition_columns().get(key.path[-1])
                where = None
                if window and partition_column:
                    where = (f'"{partition_column}" >= ? and "{partition_column}" < ?', list(window))
                range_days = (
                    (dt.date.fromisoformat(window[1]) - dt.date.fromisoformat(window[0])).days if window else 1
                )
                extra = table_metadata(session, table, partition_where=where, range_days=range_days)
                extra.update(_match_metadata(session, table, where))
                event = event.with_metadata({**event.metadata, **extra})
            yield event


def _match_metadata(session, table: str, where: tuple[str, list] | None) -> dict:
    """The share of plays matched to a catalogue song (``songplays``; the window's, if any)."""
    if table != "sparkify.songplays":
        return {}
    where_sql, params = where or ("1 = 1", [])
    plays, matched = session.query(
        f'select count(*), count(song_id) from "sparkify"."songplays" where {where_sql}', params
    )[0]
    return {
        "matched_plays": int(matched),
        "song_match_rate": MetadataValue.float(round(matched / plays, 6) if plays else 0.0),
    }


_PARTITION_COLUMNS: dict[str, str] | None = None


def _partition_columns() -> dict[str, str]:
    """model name → its partition column (``meta.partition_column`` in the model config)."""
    global _PARTITION_COLUMNS
    if _PARTITION_COLUMNS is None:
        manifest = json.loads(dbt_project.manifest_path.read_text())
        _PARTITION_COLUMNS = {
            node["name"]: node["config"]["meta"]["partition_column"]
            for node in manifest["nodes"].values()
            if node["resource_type"] == "model" and node["config"].get("meta", {}).get("partition_column")
        }
    return _PARTITION_COLUMNS


def run_dbt(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: Warehouse,
    window: tuple[str, str] | None = None,
) -> Iterator:
    # The window reaches sql/macros/partition_window.sql as environment variables.
    window_env = (
        {"MUSIC_DWH_WINDOW_START": window[0], "MUSIC_DWH_WINDOW_END": window[1]} if window else {}
    )
    with warehouse.dbt_environment(window_env):
        invocation = dbt.cli(["build"], context=context, raise_on_error=False)
        events = list(invocation.stream())
    yield from _with_table_metadata(context, events, warehouse, window)
    if not invocation.is_successful():
        # Built models were reported above; a failed model or error-severity test (a blocking
        # check) fails the step so nothing downstream of it runs.
        failures = [
            f"{r['unique_id']}: {r.get('message') or r['status']}"
            for r in invocation.get_artifact("run_results.json").get("results", [])
            if r["status"] in ("error", "fail")
        ]
        raise Failure(
            description="dbt build failed:\n" + "\n".join(failures[:20]),
            metadata={"dbt_failures": len(failures)},
        )


def _manifest_models() -> list[dict]:
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]


def build_dbt_assets(system: str, partitions_def: PartitionsDefinition) -> list:
    """A source system's dbt models as up to three multi-assets (steps of a run):

    * ``<system>_models``: whole-table models fed by staging (dimensions), before the facts;
    * ``<system>_daily_models``: daily incremental models (tag ``daily``), partitioned like the
      staging tables and given the partition window;
    * ``<system>_marts``: whole-table models in ``models/<system>/marts``, after the facts.

    Three steps rather than one because dimensions feed the facts and the facts feed the
    marts: a single unpartitioned step would have to run both before and after the daily one.
    """
    models = [m for m in _manifest_models() if m["fqn"][1] == system]
    is_daily = lambda m: "daily" in m["tags"]  # noqa: E731
    is_mart = lambda m: len(m["fqn"]) > 3 and m["fqn"][2] == "marts"  # noqa: E731
    built = []

    if any(is_daily(m) for m in models):

        @dbt_assets(
            manifest=dbt_project.manifest_path,
            project=dbt_project,
            select=f"path:models/{system},tag:daily",
            name=f"{system}_daily_models",
            partitions_def=partitions_def,
            backfill_policy=BackfillPolicy.single_run(),
            dagster_dbt_translator=translator,
            pool=WAREHOUSE_POOL,
        )
        def daily_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
            start, end = context.partition_time_window
            yield from run_dbt(context, dbt, warehouse, (start.date().isoformat(), end.date().isoformat()))

        built.append(daily_models)

    for name, select, exclude, present in (
        (f"{system}_models", f"path:models/{system}", f"tag:daily path:models/{system}/marts",
         any(not is_daily(m) and not is_mart(m) for m in models)),
        (f"{system}_marts", f"path:models/{system}/marts", "tag:daily",
         any(not is_daily(m) and is_mart(m) for m in models)),
    ):
        if not present:
            continue

        @dbt_assets(
            manifest=dbt_project.manifest_path,
            project=dbt_project,
            select=select,
            exclude=exclude,
            name=name,
            # Lets a range run carry these whole-table models too (one run, not one per day).
            backfill_policy=BackfillPolicy.single_run(),
            dagster_dbt_translator=translator,
            pool=WAREHOUSE_POOL,
        )
        def whole_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse):
            yield from run_dbt(context, dbt, warehouse)

        built.append(whole_models)
    return built


sparkify_dbt_assets = build_dbt_assets("sparkify", sparkify_daily)
chinook_dbt_assets = build_dbt_assets("chinook", chinook_daily)
