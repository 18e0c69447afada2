"""``music-dwh``: generate sample data, load source systems through Dagster, print a summary.

Every command reads the same configuration as the Dagster definitions (``music_dwh/settings.py``);
runs are recorded in the Dagster instance at ``DAGSTER_HOME`` (default ``./data/dagster``) so
they show in ``dagster dev``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from music_dwh.settings import REPO_ROOT, SettingsError, get_settings

DEFAULT_DAGSTER_HOME = "./data/dagster"
SYSTEMS = ("sparkify", "chinook")


class UserError(Exception):
    """A mistake the user can fix; printed without a traceback."""


def _say(message: str) -> None:
    print(message, flush=True)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD") from None


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _positive(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


# ---------------------------------------------------------------------------- environment
def ensure_dagster_home() -> Path:
    """Use DAGSTER_HOME (default ./data/dagster), giving it the project's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        shutil.copy(REPO_ROOT / "dagster.yaml", home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _store(location: str | None):
    from music_dwh.resources.raw_store import open_raw_store

    return open_raw_store(location or get_settings().raw)


# ---------------------------------------------------------------------------- generate
def cmd_generate(args: argparse.Namespace) -> int:
    store = _store(args.out)
    started = time.monotonic()
    if args.system == "sparkify":
        from music_dwh.datagen.sparkify import generate_sparkify

        _say(f"Generating Sparkify data into {store.describe()} …")
        summary = generate_sparkify(
            store,
            start=args.start or dt.date(2018, 11, 1),
            days=args.days,
            events_per_day=args.events_per_day,
            songs=args.songs,
            seed=args.seed,
            progress=_say if args.verbose else None,
        )
    else:
        from music_dwh.datagen.chinook import generate_chinook

        _say(f"Generating Chinook data into {store.describe()} …")
        summary = generate_chinook(
            store,
            start=args.start or dt.date(2021, 1, 1),
            days=args.days,
            customers=args.customers,
            invoices_per_day=args.invoices_per_day,
            seed=args.seed,
            progress=_say if args.verbose else None,
        )
    _say(f"{summary.describe()} ({time.monotonic() - started:.1f} s)")
    return 0


def cmd_export_chinook(args: argparse.Namespace) -> int:
    from music_dwh.datagen.chinook_export import export_chinook

    store = _store(args.out)
    _say(f"Exporting {args.sqlite} into {store.describe()} …")
    summary = export_chinook(args.sqlite, store, progress=_say if args.verbose else None)
    _say(summary.describe())
    return 0


# ---------------------------------------------------------------------------- load
def _raw_days(system: str) -> list[dt.date]:
    if system == "chinook":
        from music_dwh.staging import chinook

        return chinook.invoice_days(_store(None))
    from music_dwh.staging import sparkify

    return sparkify.log_days(_store(None))


def _partitions_start(system: str) -> dt.date:
    settings = get_settings()
    return {"sparkify": settings.sparkify_start, "chinook": settings.chinook_start}[system]


def load_system(system: str, start: dt.date | None, end: dt.date | None) -> bool:
    """Materialize every asset of ``system`` for [start, end] as one Dagster run."""
    from dagster import AssetSelection, DagsterInstance
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from music_dwh.dbt_project import ensure_manifest

    settings = get_settings()
    if start is None or end is None:
        days = _raw_days(system)
        if not days:
            raise UserError(
                f"no {system} files in the raw store {settings.raw}. Generate sample data with "
                f"`music-dwh generate {system}` or point MUSIC_DWH_RAW at your raw store."
            )
        start = start or days[0]
        end = end or days[-1]
    if end < start:
        raise UserError(f"--end {end} is before --start {start}")
    first = _partitions_start(system)
    if start < first:
        raise UserError(
            f"{start} is before the first {system} partition ({first}); set "
            f"MUSIC_DWH_{system.upper()}_START={start} to load earlier days"
        )
    ensure_dagster_home()
    from music_dwh.resources.warehouse import Warehouse

    ensure_manifest(Warehouse(url=settings.warehouse.url).dbt_env())
    from music_dwh.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = sorted(AssetSelection.groups(system).resolve(graph))
    # Every check of those assets runs in the same run, except wall-clock freshness: the
    # freshness sensor evaluates that one (a backfill of old days is stale by definition).
    checks = {k for k in graph.asset_check_keys if k.asset_key in keys and k.name != "freshness_check"}
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(keys), asset_check_selection=checks
    )
    days = (end - start).days + 1
    _say(
        f"Loading {system}: {days} day(s) {start} … {end}, {len(keys)} assets, {len(checks)} checks, from "
        f"{settings.raw} into {settings.warehouse.redacted()} (one Dagster run)"
    )
    started = time.monotonic()
    result = job.execute_in_process(
        instance=DagsterInstance.get(),
        tags={
            ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
            "music_dwh/command": f"load {system}",
        },
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        raise_on_error=False,
    )
    elapsed = time.monotonic() - started
    evaluations = result.get_asset_check_evaluations()
    failed = [e for e in evaluations if not e.passed]
    _say(f"{system}: checks {len(evaluations) - len(failed)} passed, {len(failed)} failed")
    for e in failed:
        _say(
            f"  {e.severity.value.lower()}: {e.asset_key.to_user_string()} {e.check_name}"
            + (f" — {e.description}" if e.description else "")
        )
    if result.success:
        _say(f"{system}: run {result.run_id} succeeded in {elapsed:.1f} s")
        return True
    _say(f"{system}: run {result.run_id} FAILED after {elapsed:.1f} s")
    for event in result.all_events:
        if event.is_step_failure:
            error = event.step_failure_data.error
            message = error.message.strip() if error else "unknown error"
            _say(f"  step {event.step_key}: {message}")
    return False


def cmd_load(args: argparse.Namespace) -> int:
    systems = SYSTEMS if args.system == "all" else (args.system,)
    ok = True
    for system in systems:
        ok = load_system(system, args.start, args.end) and ok
    return 0 if ok else 1


# ---------------------------------------------------------------------------- summary
def _analysis(name: str) -> str:
    return (REPO_ROOT / "sql" / "analyses" / f"{name}.sql").read_text()


def print_summary() -> None:
    from music_dwh.resources.warehouse import Warehouse

    settings = get_settings()
    warehouse = Warehouse(url=settings.warehouse.url, password=os.environ.get("MUSIC_DWH_WAREHOUSE_PASSWORD"))
    with warehouse.session() as session:
        _say(f"\nWarehouse {settings.warehouse.redacted()}")
        for system in SYSTEMS:
            rows = session.query(
                "select table_name from information_schema.tables where table_schema = ? order by table_name",
                [system],
            )
            if not rows:
                continue
            _say(f"\n{system}: rows per table")
            for (table,) in rows:
                count = session.query(f'select count(*) from "{system}"."{table}"')[0][0]
                _say(f"  {table:<28} {count:>12,}")
        if session.table_exists("sparkify.songplays"):
            plays, matched = session.query(_analysis("sparkify_match_rate"))[0]
            rate = matched / plays if plays else 0.0
            _say(f"\nsparkify: {plays:,} plays, {matched:,} matched to a catalogue song ({rate:.1%})")
            _say("\nTop 5 songs")
            for title, artist, count in session.query(_analysis("sparkify_top_songs")):
                _say(f"  {count:>7,}  {title} — {artist}")
            _say("\nBusiest hours (UTC)")
            for hour, count in session.query(_analysis("sparkify_busiest_hours")):
                _say(f"  {hour:02d}:00  {count:>7,} plays")
    from music_dwh.assets.reports import report_path

    reports = [report_path(system) for system in SYSTEMS if report_path(system).exists()]
    if reports:
        _say("\nReports (open in a browser)")
        for path in reports:
            _say(f"  {path}")


def cmd_summary(args: argparse.Namespace) -> int:
    print_summary()
    return 0


# ---------------------------------------------------------------------------- prepare
def prepare() -> None:
    """Give DAGSTER_HOME the project's dagster.yaml and parse the dbt project if needed."""
    from music_dwh.dbt_project import ensure_manifest
    from music_dwh.resources.warehouse import Warehouse

    home = ensure_dagster_home()
    manifest = ensure_manifest(Warehouse(url=get_settings().warehouse.url).dbt_env())
    _say(f"DAGSTER_HOME={home}\ndbt manifest: {manifest}")


def cmd_prepare(args: argparse.Namespace) -> int:
    prepare()
    return 0


# ---------------------------------------------------------------------------- demo
def cmd_demo(args: argparse.Namespace) -> int:
    """Generate sample data for every system, load everything, print the summary."""
    settings = get_settings()
    from music_dwh.datagen.chinook import generate_chinook
    from music_dwh.datagen.sparkify import generate_sparkify

    store = _store(None)
    _say(f"[1/3] Generating sample data into {settings.raw}")
    sparkify = generate_sparkify(
        store,
        start=settings.sparkify_start,
        days=args.days,
        events_per_day=args.events_per_day,
        songs=args.songs,
        seed=args.seed,
    )
    _say(f"      {sparkify.describe()}")
    chinook = generate_chinook(
        store,
        start=settings.chinook_start,
        days=args.days,
        customers=args.customers,
        invoices_per_day=args.invoices_per_day,
        seed=args.seed,
    )
    _say(f"      {chinook.describe()}")
    _say("[2/3] Materializing every asset for every partition")
    ok = True
    for system in SYSTEMS:
        ok = load_system(system, None, None) and ok
    _say("[3/3] Summary")
    print_summary()
    _say("\nExplore it in the Dagster UI: make dev  (then open http://127.0.0.1:3000)")
    return 0 if ok else 1


# ---------------------------------------------------------------------------- backup
def cmd_backup(args: argparse.Namespace) -> int:
    from music_dwh import backup

    settings = get_settings()
    _say(f"Backing up {settings.warehouse.redacted()} into {args.to} …")
    try:
        summary = backup.backup(Path(args.to), settings.warehouse)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from None
    _say(f"backup written to {summary.folder}: {summary.describe()}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from music_dwh import backup

    settings = get_settings()
    _say(f"Restoring {settings.warehouse.redacted()} from {args.source} …")
    try:
        summary = backup.restore(Path(args.source), settings.warehouse, force=args.force)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from None
    _say(f"warehouse restored: {summary.describe()}")
    return 0


# ---------------------------------------------------------------------------- bench
def cmd_bench(args: argparse.Namespace) -> int:
    from music_dwh.bench import harness

    try:
        return harness.main(args)
    except harness.BenchError as exc:
        raise UserError(str(exc)) from None


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="music-dwh", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a synthetic raw dataset in the sources' own format")
    gen_sub = gen.add_subparsers(dest="system", required=True)
    g = gen_sub.add_parser("sparkify", help="event logs and the song catalogue")
    g.add_argument("--start", type=_date, help="first day (default 2018-11-01)")
    g.add_argument("--days", type=_positive, default=30)
    g.add_argument("--events-per-day", type=_positive, default=1_000)
    g.add_argument("--songs", type=_at_least(10), default=500)
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--out", help="raw store: folder or s3://bucket/prefix (default MUSIC_DWH_RAW)")
    g.add_argument("-v", "--verbose", action="store_true", help="a line per day written")
    g.set_defaults(func=cmd_generate)
    c = gen_sub.add_parser("chinook", help="store reference tables and daily invoices")
    c.add_argument("--start", type=_date, help="first day (default 2021-01-01)")
    c.add_argument("--days", type=_positive, default=90)
    c.add_argument("--customers", type=_positive, default=200)
    c.add_argument("--invoices-per-day", type=_positive, default=5)
    c.add_argument("--seed", type=int, default=42)
    c.add_argument("--out", help="raw store: folder or s3://bucket/prefix (default MUSIC_DWH_RAW)")
    c.add_argument("-v", "--verbose", action="store_true")
    c.set_defaults(func=cmd_generate)

    ex = sub.add_parser("export-chinook", help="turn a Chinook SQLite database into the raw layout")
    ex.add_argument("--sqlite", required=True, help="path to Chinook_Sqlite.sqlite")
    ex.add_argument("--out", help="raw store: folder or s3://bucket/prefix (default MUSIC_DWH_RAW)")
    ex.add_argument("-v", "--verbose", action="store_true")
    ex.set_defaults(func=cmd_export_chinook)

    ld = sub.add_parser("load", help="materialize a system's assets for a range of days (one run)")
    ld.add_argument("system", choices=[*SYSTEMS, "all"])
    ld.add_argument("--start", type=_date, help="first day (default: the first day in the raw store)")
    ld.add_argument("--end", type=_date, help="last day, inclusive (default: the last day in the raw store)")
    ld.set_defaults(func=cmd_load)

    pr = sub.add_parser("prepare", help="set up DAGSTER_HOME and the dbt manifest (make does this)")
    pr.set_defaults(func=cmd_prepare)

    sm = sub.add_parser("summary", help="rows per table, top songs, busiest hours")
    sm.set_defaults(func=cmd_summary)

    bk = sub.add_parser("backup", help="snapshot the DuckDB warehouse into a new folder (Parquet)")
    bk.add_argument("--to", required=True, metavar="DIR", help="a new (or empty) folder")
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="replace the DuckDB warehouse with a backup, atomically")
    rs.add_argument("--from", dest="source", required=True, metavar="DIR", help="a folder made by backup")
    rs.add_argument("--force", action="store_true", help="replace an existing warehouse file")
    rs.set_defaults(func=cmd_restore)

    demo = sub.add_parser("demo", help="generate sample data, load everything, print the summary")
    demo.add_argument("--days", type=_positive, default=30)
    demo.add_argument("--events-per-day", type=_positive, default=1_000)
    demo.add_argument("--songs", type=_at_least(10), default=500)
    demo.add_argument("--customers", type=_positive, default=200)
    demo.add_argument("--invoices-per-day", type=_positive, default=5)
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)

    from music_dwh.bench.harness import add_arguments as add_bench_arguments

    bn = sub.add_parser("bench", help="benchmark music_dwh against its baselines (writes bench/results.md)")
    add_bench_arguments(bn)
    bn.set_defaults(func=cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Beta/preview notices about Dagster parameters are for library authors, not operators.
    warnings.filterwarnings("ignore", category=Warning, module=r"dagster(\.|$)")
    warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview).*")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    args = build_parser().parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    from music_dwh.resources.raw_store import RawStoreError
    from music_dwh.resources.warehouse import WarehouseError

    try:
        return func(args)
    except (UserError, SettingsError, RawStoreError, WarehouseError) as exc:
        print(f"music-dwh: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("music-dwh: interrupted; every partition is loaded in one transaction, so none is half-written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
