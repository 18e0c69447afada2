"""Sensors on the raw store: one per raw source, each requesting a run for exactly what landed.

| sensor | watches | requests |
|---|---|---|
| ``sparkify_log_sensor`` | ``sparkify/log_data/YYYY/MM/YYYY-MM-DD-*.json`` | one run per affected day |
| ``sparkify_song_catalogue_sensor`` | ``sparkify/song_data/**.json`` | one run reloading the catalogue |
| ``chinook_reference_sensor`` | ``chinook/reference/<table>.csv`` | one run for the changed snapshots |
| ``chinook_invoice_sensor`` | ``chinook/invoices/YYYY/MM/DD/{invoice,invoice_line}.csv`` | one run per affected day |

A delivery is a new key or a known key with a new version (``RawObject.version``: the ETag on
S3, mtime and size in a folder). Each sensor lists its prefix through the ``raw_store``
resource (paginated on S3) and keeps a compact cursor: a short digest of ``(key, version)``
per day for the daily sources, one digest for the whole song catalogue (10k+ files would not
fit a key → version map), and one version per reference table. A run key carries the day, the
digest and a generation number from the cursor, so one delivery triggers exactly once even if
a tick is retried, and a later re-delivery (even of content seen before) triggers again.

What never triggers a run: keys outside the layout (other names, a folder that disagrees with
the file's date, impossible dates), days before the system's first partition, and files
removed from the store (their day is forgotten, so a re-delivery triggers). A file for a day
whose partition does not exist yet (a day not over in ``MUSIC_DWH_TIMEZONE``) waits,
unrecorded, until the day's partition exists.

A daily run selects every asset of the system for that day except the unpartitioned raw and
staging assets (the snapshot loads): the day's partitioned assets, and the dimensions and marts
that are built from them or that the day's checks compare it with. A catalogue or reference
run selects the raw and staging assets of what changed and everything of the system built from
them; when that includes daily assets (songplays is matched against the catalogue, invoice
lines are checked against the track and customer snapshots) and days have been delivered, the
run covers those days as one range, so days that arrived before the snapshot end as if it had
come first. Checks ride along with their assets.

Order does not matter, and a failed day is not forgotten: every staging table exists from the
first run on (``Warehouse.ensure_staging_tables``), models over empty inputs build empty, and a
day whose latest run failed for good (Dagster's run retries in ``dagster.yaml`` exhausted) is
requested again by its sensor once a snapshot it reads is reloaded, once per reload (the run
key names the reload), or when its files are re-delivered. Nothing is requested per tick.

The daily sensors are generated, one per source system, from its contract (``DAILY_PREFIX``,
``day_of``, ``DAILY_SENSOR``); the snapshot sensors are each system's own (``SNAPSHOT_SENSORS``).
All four start stopped (turn them on in the UI under Automation). On a store that already holds
history, the first tick requests one run per day not yet seen; ``music-dwh load`` (one run for
any range) is the faster way to catch up before turning a sensor on.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dagster import (
    AssetKey,
    AssetSelection,
    AutomationConditionSensorDefinition,
    DagsterInvariantViolationError,
    DagsterRunStatus,
    DailyPartitionsDefinition,
    DefaultSensorStatus,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from music_dwh.automation.alerts import will_be_retried
from music_dwh.automation.jobs import JOBS_BY_SYSTEM
from music_dwh.framework import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)
from music_dwh.partitions import daily
from music_dwh.resources.raw_store import RawObject, RawStore
from music_dwh.settings import SOURCE_SYSTEMS, get_settings
from music_dwh.sources import SYSTEMS, chinook, sparkify
from music_dwh.sources.chinook import REFERENCE_PREFIX
from music_dwh.sources.sparkify import SONG_PREFIX, is_song_file

# MUSIC_DWH_SENSOR_INTERVAL (default 30 s) and MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL (default
# 120 s: listing a 10k-file catalogue is a few S3 requests, no need to do it every 30 s). Read
# when the code location loads: restart the daemon after changing them.
DAILY_INTERVAL_SECONDS = get_settings().sensor_interval_seconds
SNAPSHOT_INTERVAL_SECONDS = get_settings().snapshot_sensor_interval_seconds
TRIGGER_TAG = "music_dwh/trigger"
RETRY_REASON_TAG = "music_dwh/requested_again"
# Unpartitioned assets of these layers are the snapshot loads (song catalogue, reference tables).
SNAPSHOT_LAYERS = ("raw", "staging")


def digest(objects: Iterable[RawObject]) -> str:
    """A short fingerprint of a set of delivered files (keys and versions)."""
    h = hashlib.sha256()
    for key, version in sorted((o.key, o.version) for o in objects):
        h.update(f"{key}\0{version}\n".encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------- cursor
def _load(cursor: str | None) -> dict:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        state = {}
    return state if isinstance(state, dict) else {}


def _dump(state: dict) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"))


# ---------------------------------------------------------------------------- selections
def _asset_graph(context: SensorEvaluationContext):
    if context.repository_def is None:
        raise RuntimeError(
            "this sensor needs its Definitions to choose assets: evaluate it with "
            "build_sensor_context(definitions=defs, ...)"
        )
    return context.repository_def.asset_graph


def daily_selection(context: SensorEvaluationContext, system: str) -> list[AssetKey]:
    """Every asset of the system but the unpartitioned raw and staging ones.

    That is the day's partitioned assets, the models built from them (dimensions, marts) and
    the models they are checked against: a day's dbt tests compare its facts with the
    dimensions (``relationships`` to ``users``), so those are rebuilt in the same run, before
    the facts. The song catalogue and reference snapshots are not reloaded: their own sensors
    do that when they change.
    """
    graph = _asset_graph(context)
    return sorted(
        k
        for k in AssetSelection.groups(system).resolve(graph)
        if graph.get(k).partitions_def is not None
        or graph.get(k).tags.get("layer") not in SNAPSHOT_LAYERS
    )


# ---------------------------------------------------------------------------- daily sources
@dataclass(frozen=True)
class DailySource:
    system: str
    prefix: str
    day_of: Callable[[str], dt.date | None]
    partitions_def: DailyPartitionsDefinition
    sensor_name: str
    job_name: str
    # The snapshot staging tables a day's run reads (song catalogue, reference tables): when
    # one of them is reloaded, a day whose latest run failed is requested again.
    snapshot_keys: tuple[AssetKey, ...] = ()

    def delivered_days(self, store: RawStore) -> list[dt.date]:
        """Days with files under the prefix, from the first partition to the last one that
        exists (a day not over yet has no partition)."""
        first = self.partitions_def.start.date()
        last_key = self.partitions_def.get_last_partition_key()
        if last_key is None:
            return []
        last = dt.date.fromisoformat(last_key)
        days = {self.day_of(o.key) for o in store.list(self.prefix)}
        return sorted(d for d in days if d is not None and first <= d <= last)


# ---------------------------------------------------------------------------- failed days
def snapshot_marker(context: SensorEvaluationContext, keys: Sequence[AssetKey]) -> int | None:
    """The storage id of the latest materialization among ``keys`` (None: never loaded): it
    changes whenever one of the snapshots is reloaded."""
    if not keys:
        return None
    try:
        instance = context.instance
    except DagsterInvariantViolationError:  # a context built without an instance (a preview)
        return None
    ids = [
        r.asset_entry.last_materialization_record.storage_id
        for r in instance.get_asset_records(list(keys))
        if r.asset_entry.last_materialization_record is not None
    ]
    return max(ids) if ids else None


def failed_days(context: SensorEvaluationContext, job_name: str, days: Iterable[str]) -> list[str]:
    """The days among ``days`` whose latest one-day run of ``job_name`` failed for good (no
    automatic retry coming), whoever launched it."""
    instance = context.instance
    wanted = set(days)
    candidates = {
        run.tags.get(PARTITION_NAME_TAG)
        for run in instance.get_runs(
            RunsFilter(job_name=job_name, statuses=[DagsterRunStatus.FAILURE]), limit=1000
        )
    } & wanted
    failed = []
    for day in sorted(candidates):
        latest = instance.get_runs(
            RunsFilter(job_name=job_name, tags={PARTITION_NAME_TAG: day}), limit=1
        )
        if (
            latest
            and latest[0].status == DagsterRunStatus.FAILURE
            and not will_be_retried(latest[0])
        ):
            failed.append(day)
    return failed


def evaluate_daily(
    context: SensorEvaluationContext, source: DailySource, store: RawStore
) -> SensorResult:
    state = _load(context.cursor)
    known: dict[str, str] = dict(state.get("days", {}))
    generation = int(state.get("n", 0))
    first = source.partitions_def.start.date()
    last_key = source.partitions_def.get_last_partition_key()  # None before the first day ends
    last = dt.date.fromisoformat(last_key) if last_key else None

    by_day: dict[dt.date, list[RawObject]] = defaultdict(list)
    ignored = 0
    for obj in store.list(source.prefix):
        day = source.day_of(obj.key)
        if day is None or day < first:
            ignored += 1
            continue
        by_day[day].append(obj)

    current = {day.isoformat(): digest(objs) for day, objs in by_day.items()}
    changed = sorted(d for d, fp in current.items() if known.get(d) != fp)
    ready = [d for d in changed if last is not None and dt.date.fromisoformat(d) <= last]
    waiting = [d for d in changed if d not in ready]
    # Forget removed days; remember everything else except days whose partition does not exist yet.
    new_days = {d: fp for d, fp in current.items() if d not in waiting}
    if ready:
        generation += 1
    # A day whose latest run failed for good is requested again when a snapshot it reads was
    # reloaded since the last tick (the catalogue arrived, a reference table was re-delivered):
    # the cause may be gone. Once per reload, never per tick: the run key names the reload.
    marker = snapshot_marker(context, source.snapshot_keys)
    again: list[str] = []
    if marker is not None and marker != state.get("snap"):
        again = [d for d in failed_days(context, source.job_name, new_days) if d not in ready]
    selection = daily_selection(context, source.system) if ready or again else []
    requests = [
        RunRequest(
            run_key=f"{source.system}:{day}:{current[day]}:{generation}",
            partition_key=day,
            asset_selection=selection,
            tags={TRIGGER_TAG: source.sensor_name},
        )
        for day in ready
    ] + [
        RunRequest(
            run_key=f"{source.system}:{day}:{current[day]}:after-snapshot-{marker}",
            partition_key=day,
            asset_selection=selection,
            tags={
                TRIGGER_TAG: source.sensor_name,
                RETRY_REASON_TAG: "snapshot reloaded after a failed run",
            },
        )
        for day in again
    ]
    if ready:
        context.log.info(
            f"new or re-delivered files for {len(ready)} day(s): {', '.join(ready[:20])}"
        )
    if again:
        context.log.info(
            f"a snapshot was reloaded since these day(s) last failed, requesting them again: {', '.join(again[:20])}"
        )
    if waiting:
        context.log.info(f"files for day(s) not over yet, waiting: {', '.join(waiting[:20])}")
    cursor = _dump({"n": generation, "days": dict(sorted(new_days.items())), "snap": marker})
    if requests:
        return SensorResult(run_requests=requests, cursor=cursor)
    reason = f"no new or re-delivered files under {source.prefix} ({len(new_days)} day(s) known"
    reason += f", {len(waiting)} waiting" if waiting else ""
    reason += f", {ignored} key(s) outside the layout ignored)" if ignored else ")"
    return SensorResult(skip_reason=reason, cursor=cursor)


def daily_source(system: str) -> DailySource:
    """A system's daily deliveries, from its contract (``music_dwh/sources/<system>.py``):
    ``DAILY_PREFIX`` and ``day_of`` are the raw layout that ``music-dwh load`` reads too, so it
    loads exactly the files this sensor reacts to."""
    contract = SYSTEMS[system]
    return DailySource(
        system,
        contract.DAILY_PREFIX,
        contract.day_of,
        daily(system),
        contract.DAILY_SENSOR,
        JOBS_BY_SYSTEM[system].name,
        tuple(AssetKey([system, t]) for t in contract.SNAPSHOT_STAGING_TABLES),
    )


DAILY_SOURCES = {system: daily_source(system) for system in SOURCE_SYSTEMS}


def snapshot_run_request(
    context: SensorEvaluationContext,
    source: DailySource,
    roots: Sequence[AssetKey],
    store: RawStore,
    run_key: str,
    extra: Sequence[AssetKey] = (),
) -> RunRequest:
    """One run reloading a snapshot (``roots``) and everything of the system built from it.

    When daily assets are built from it too (songplays matches plays to the catalogue; invoice
    lines are checked against the track and customer snapshots) and days have been delivered,
    the run covers those days as one range (``BackfillPolicy.single_run()``): the days that
    arrived before the snapshot are rebuilt with it, so the warehouse ends as a load of all the
    files would leave it, whatever the order they came in. Without delivered days, only the
    unpartitioned assets (dimensions, marts) are rebuilt."""
    graph = _asset_graph(context)
    downstream = (
        AssetSelection.assets(*roots).downstream() & AssetSelection.groups(source.system)
    ).resolve(graph)
    partitioned = {k for k in downstream if graph.get(k).partitions_def is not None}
    days = source.delivered_days(store) if partitioned else []
    tags = {TRIGGER_TAG: context.sensor_name or source.system}
    if days:
        selection = sorted({*downstream, *extra})
        tags[ASSET_PARTITION_RANGE_START_TAG] = days[0].isoformat()
        tags[ASSET_PARTITION_RANGE_END_TAG] = days[-1].isoformat()
        context.log.info(
            f"the run also rebuilds the {len(partitioned)} daily asset(s) built from it for the delivered "
            f"days {days[0]}...{days[-1]}"
        )
    else:
        selection = sorted({*(k for k in downstream if k not in partitioned), *extra})
    return RunRequest(run_key=run_key, asset_selection=selection, tags=tags)


def daily_sensor(source: DailySource) -> SensorDefinition:
    """The sensor of a system's daily deliveries (``DAILY_SENSOR`` in its contract): one run
    of the system's job per new or re-delivered day."""

    @sensor(
        name=source.sensor_name,
        target=JOBS_BY_SYSTEM[source.system],
        minimum_interval_seconds=DAILY_INTERVAL_SECONDS,
        default_status=DefaultSensorStatus.STOPPED,
        description=SYSTEMS[source.system].DAILY_SENSOR_DESCRIPTION,
    )
    def daily_files_sensor(context: SensorEvaluationContext, raw_store: RawStore) -> SensorResult:
        return evaluate_daily(context, source, raw_store)

    return daily_files_sensor


DAILY_SENSORS = {system: daily_sensor(source) for system, source in DAILY_SOURCES.items()}


def __getattr__(name: str) -> SensorDefinition:
    """A generated daily sensor by its Dagster name: ``sensors.sparkify_log_sensor``."""
    for daily_files_sensor in DAILY_SENSORS.values():
        if daily_files_sensor.name == name:
            return daily_files_sensor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------- snapshots
# The snapshot sensors are each system's own: one fingerprint for a whole catalogue of files,
# one version per reference table.
@sensor(
    name="sparkify_song_catalogue_sensor",
    target=JOBS_BY_SYSTEM[sparkify.SYSTEM],
    minimum_interval_seconds=SNAPSHOT_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.STOPPED,
    description="Reloads the song catalogue and everything built from it when any song file is "
    "new, re-delivered or removed: dimensions, marts, and the delivered days' matched plays (one "
    "range run).",
)
def sparkify_song_catalogue_sensor(
    context: SensorEvaluationContext, raw_store: RawStore
) -> SensorResult:
    state = _load(context.cursor)
    generation = int(state.get("n", 0))
    files = [o for o in raw_store.list(SONG_PREFIX) if is_song_file(o.key)]
    fingerprint = digest(files) if files else None
    if fingerprint is None or fingerprint == state.get("digest"):
        # An emptied catalogue is not a delivery: keep the tables, forget the fingerprint.
        cursor = _dump({"n": generation, "digest": fingerprint})
        what = (
            "no song files" if fingerprint is None else f"catalogue unchanged ({len(files)} files)"
        )
        return SensorResult(skip_reason=what, cursor=cursor)
    generation += 1
    roots = [AssetKey(["sparkify", "song_data"])]
    context.log.info(f"song catalogue changed: {len(files)} files, fingerprint {fingerprint}")
    return SensorResult(
        run_requests=[
            snapshot_run_request(
                context,
                DAILY_SOURCES[sparkify.SYSTEM],
                roots,
                raw_store,
                f"sparkify:song_data:{fingerprint}:{generation}",
            )
        ],
        cursor=_dump({"n": generation, "digest": fingerprint}),
    )


@sensor(
    name="chinook_reference_sensor",
    target=JOBS_BY_SYSTEM[chinook.SYSTEM],
    minimum_interval_seconds=SNAPSHOT_INTERVAL_SECONDS,
    default_status=DefaultSensorStatus.STOPPED,
    description="Reloads the Chinook reference tables whose snapshot file is new or "
    "re-delivered, and everything built from them (a new track or customer snapshot re-stages "
    "the delivered invoice days: one range run).",
)
def chinook_reference_sensor(context: SensorEvaluationContext, raw_store: RawStore) -> SensorResult:
    state = _load(context.cursor)
    generation = int(state.get("n", 0))
    known: dict[str, str] = dict(state.get("files", {}))
    current = {
        table: o.version
        for o in raw_store.list(REFERENCE_PREFIX)
        if (table := chinook.reference_table_of(o.key)) is not None
    }
    changed = sorted(t for t, version in current.items() if known.get(t) != version)
    cursor_state = {"files": dict(sorted(current.items()))}
    if not changed:
        return SensorResult(
            skip_reason=f"no new or re-delivered reference snapshot ({len(current)} known)",
            cursor=_dump({"n": generation, **cursor_state}),
        )
    generation += 1
    # The raw asset, the changed tables' staging assets and what is built from them (not from
    # reference_files itself: it is upstream of every staging table).
    staging = [AssetKey(["chinook", f"staging_{t}"]) for t in changed]
    fingerprint = hashlib.sha256(
        "".join(f"{t}\0{current[t]}\n" for t in changed).encode()
    ).hexdigest()[:16]
    context.log.info(f"reference snapshot(s) new or re-delivered: {', '.join(changed)}")
    return SensorResult(
        run_requests=[
            snapshot_run_request(
                context,
                DAILY_SOURCES[chinook.SYSTEM],
                staging,
                raw_store,
                f"chinook:reference:{fingerprint}:{generation}",
                extra=[AssetKey(["chinook", "reference_files"])],
            )
        ],
        cursor=_dump({"n": generation, **cursor_state}),
    )


# ---------------------------------------------------------------------------- automation
# Marts carry an AutomationCondition (assets/dbt.py): when any upstream day is (re)loaded by a
# run that did not also rebuild the mart, this sensor requests the mart. Running by default: it
# only ever acts after an upstream update, so starting it requests nothing.
automation_sensor = AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=AssetSelection.all(),
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=DAILY_INTERVAL_SECONDS,
    description="Refreshes the marts after a late or re-loaded day (declarative automation).",
)

# The snapshot sensors by system: a system without snapshot deliveries has none.
SNAPSHOT_SENSORS = {
    sparkify.SYSTEM: [sparkify_song_catalogue_sensor],
    chinook.SYSTEM: [chinook_reference_sensor],
}

sensors = [
    *(
        s
        for system in SOURCE_SYSTEMS
        for s in (DAILY_SENSORS[system], *SNAPSHOT_SENSORS.get(system, ()))
    ),
    automation_sensor,
]
