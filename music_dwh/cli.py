"""``music-dwh``: generate sample data, load source systems through Dagster, print a summary.

Every command reads the same configuration as the Dagster definitions (``music_dwh/settings.py``);
runs are recorded in the Dagster instance at ``DAGSTER_HOME`` (default ``./data/dagster``) so
they show in ``dagster dev``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from music_dwh.runs.load import LAYERS, LoadPlan, UserError
from music_dwh.settings import REPO_ROOT, SettingsError, get_settings

DEFAULT_DAGSTER_HOME = "./data/dagster"
# The first words of the shipped dagster.yaml: a DAGSTER_HOME copy starting so is ours to update.
SHIPPED_MARKER = "# Instance settings shipped with music_dwh."
SYSTEMS = ("sparkify", "chinook")


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
    """Use DAGSTER_HOME (default ./data/dagster), giving it the project's dagster.yaml: a copy
    made from an older version of that file is replaced (a hand-written one is kept)."""
    home = Path(os.environ.get("DAGSTER_HOME") or DEFAULT_DAGSTER_HOME).expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    shipped = (REPO_ROOT / "dagster.yaml").read_text()
    config = home / "dagster.yaml"
    current = config.read_text() if config.exists() else None
    if current != shipped and (current is None or current.startswith(SHIPPED_MARKER)):
        if current is not None:
            _say(f"updating {config} to this version's dagster.yaml")
        tmp = config.with_suffix(".yaml.tmp")
        tmp.write_text(shipped)
        tmp.replace(config)
    os.environ["DAGSTER_HOME"] = str(home)
    check_instance_storage()
    return home


def check_instance_storage() -> None:
    """With ``MUSIC_DWH_DAGSTER_STORAGE=postgresql://…``, connect once: a database that cannot be
    reached or refuses the credentials is one line naming the settings, not a traceback from
    inside Dagster. The driver's message names host, user and database, never the password."""
    from music_dwh.settings import INSTANCE_STORAGE_PASSWORD_VARIABLE as PASSWORD_VARIABLE
    from music_dwh.settings import instance_storage

    target = instance_storage()
    if target.engine != "postgres":
        return
    import psycopg2

    try:
        psycopg2.connect(
            target.sqlalchemy_url().replace("+psycopg2", ""),
            connect_timeout=10,
            password=os.environ.get(PASSWORD_VARIABLE) or None,
        ).close()
    except psycopg2.OperationalError as exc:
        reason = " ".join(str(exc).replace("FATAL:", " ").split())
        raise UserError(
            f"cannot open the Dagster instance storage {target.redacted()} ({reason}): check "
            f"MUSIC_DWH_DAGSTER_STORAGE and the password ({PASSWORD_VARIABLE}, PGPASSWORD or ~/.pgpass)"
        ) from None


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
    """The delivered days, parsed by the source's contract as its sensor parses them."""
    from music_dwh.sources import SYSTEMS, delivered_days

    store = _store(None)
    return delivered_days(system, (o.key for o in store.list(SYSTEMS[system].DAILY_PREFIX)))


def _partitions_start(system: str) -> dt.date:
    settings = get_settings()
    return settings.starts[system]


def plan_load(
    system: str,
    start: dt.date | None,
    end: dt.date | None,
    through: str = "report",
    verbose: bool = False,
) -> LoadPlan:
    """Check the range of days for ``system`` (default: every day in the raw store)."""
    import uuid

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
    return LoadPlan(system, start, end, str(uuid.uuid4()), through, verbose)


def load(
    systems: Sequence[str],
    start: dt.date | None,
    end: dt.date | None,
    through: str = "report",
    verbose: bool = False,
) -> int:
    """Load ``systems`` (one Dagster run each) in a worker process; this one stays free to
    answer Ctrl-C (``music_dwh.runs.supervisor``). Returns the worker's exit status."""
    from music_dwh.runs.supervisor import run_worker

    plans = [plan_load(system, start, end, through, verbose) for system in systems]
    ensure_dagster_home()
    return run_worker(plans, _say)


def cmd_load(args: argparse.Namespace) -> int:
    return load(
        SYSTEMS if args.system == "all" else (args.system,),
        args.start,
        args.end,
        args.through,
        args.verbose,
    )


# ---------------------------------------------------------------------------- summary
def _analysis(name: str) -> str:
    return (REPO_ROOT / "sql" / "analyses" / f"{name}.sql").read_text()


def print_summary() -> None:
    from music_dwh.resources.warehouse import Warehouse

    settings = get_settings()
    warehouse = Warehouse.from_env()
    with warehouse.session() as session:
        _say(f"\nWarehouse {settings.warehouse.redacted()}")
        for system in SYSTEMS:
            tables = session.table_names(system)
            if not tables:
                continue
            _say(f"\n{system}: rows per table")
            cells = []
            for table in tables:
                count = session.count_rows(f"{system}.{table}")
                cells.append(f"{table:<24}{count:>9,}")
            for i in range(0, len(cells), 3):  # three columns: the demo fits on two screens
                _say("  " + "   ".join(cells[i : i + 3]))
        if session.table_exists("sparkify.songplays"):
            plays, matched = session.query(_analysis("sparkify_match_rate"))[0]
            rate = matched / plays if plays else 0.0
            _say(
                f"\nsparkify: {plays:,} plays, {matched:,} matched to a catalogue song ({rate:.1%})"
            )
            _say("\nTop 5 songs")
            for title, artist, count in session.query(_analysis("sparkify_top_songs")):
                _say(f"  {count:>7,}  {title} — {artist}")
            _say("\nBusiest hours (UTC)")
            for hour, count in session.query(_analysis("sparkify_busiest_hours")):
                _say(f"  {hour:02d}:00  {count:>7,} plays")
    from music_dwh.reports.kit import report_path

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
    from music_dwh.resources.dbt_manifest import ensure_manifest
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
    status = load(SYSTEMS, None, None)
    _say("[3/3] Summary")
    print_summary()
    _say("\nExplore it in the Dagster UI: make dev  (then open http://127.0.0.1:3000)")
    return status


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


def cmd_bench_latency(args: argparse.Namespace) -> int:
    from music_dwh.bench import latency

    try:
        return latency.main(args)
    except latency.LatencyError as exc:
        raise UserError(str(exc)) from None


# ---------------------------------------------------------------------------- dev
def ui_address(host: str, port: int) -> str:
    """The UI's address as a browser elsewhere reaches it: a wildcard host (all interfaces)
    is this machine's name."""
    import socket

    if host in ("0.0.0.0", "::", ""):
        host = socket.getfqdn()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def dev_environment(host: str, port: int, env: Mapping[str, str]) -> dict[str, str]:
    """``env`` for ``dagster dev`` on ``host:port``: the daemon's alerts link to this UI
    (``MUSIC_DWH_UI_URL``) unless that is set."""
    env = dict(env)
    if not env.get("MUSIC_DWH_UI_URL", "").strip():
        env["MUSIC_DWH_UI_URL"] = ui_address(host, port)
    return env


def cmd_dev(args: argparse.Namespace) -> int:
    """``dagster dev`` on 127.0.0.1 that stops within seconds on Ctrl-C; runs it leaves
    unfinished are cleaned up on the way out."""
    from music_dwh.runs.supervisor import Interrupted, run_service

    ensure_dagster_home()
    # `dagster dev` and its daemon inherit this process's environment.
    os.environ.update(dev_environment(args.host, args.port, os.environ))
    dagster = Path(sys.executable).with_name("dagster")
    argv = [
        str(dagster) if dagster.exists() else "dagster",
        "dev",
        "-w",
        str(REPO_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    _say(
        f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']}); Ctrl-C stops it"
    )
    try:
        return run_service(argv, _say)
    except Interrupted:
        _clean_after_dev()
        raise


def _clean_after_dev() -> None:
    import warnings

    warnings.filterwarnings("ignore")
    from dagster import DagsterInstance

    from music_dwh.runs.load import clean_dead_runs

    with DagsterInstance.get() as instance:
        clean_dead_runs(instance, _say)


# ---------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="music-dwh", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate", help="write a synthetic raw dataset in the sources' own format"
    )
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
    ld.add_argument(
        "--start", type=_date, help="first day (default: the first day in the raw store)"
    )
    ld.add_argument(
        "--end", type=_date, help="last day, inclusive (default: the last day in the raw store)"
    )
    ld.add_argument(
        "--through",
        choices=LAYERS,
        default=LAYERS[-1],
        help="materialize up to this layer, with its checks (default: report = everything)",
    )
    ld.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="Dagster's full log instead of the progress display (dbt's: sql/logs/dbt.log)",
    )
    ld.set_defaults(func=cmd_load)

    pr = sub.add_parser("prepare", help="set up DAGSTER_HOME and the dbt manifest (make does this)")
    pr.set_defaults(func=cmd_prepare)

    sm = sub.add_parser("summary", help="rows per table, top songs, busiest hours")
    sm.set_defaults(func=cmd_summary)

    bk = sub.add_parser("backup", help="snapshot the DuckDB warehouse into a new folder (Parquet)")
    bk.add_argument("--to", required=True, metavar="DIR", help="a new (or empty) folder")
    bk.set_defaults(func=cmd_backup)
    rs = sub.add_parser("restore", help="replace the DuckDB warehouse with a backup, atomically")
    rs.add_argument(
        "--from", dest="source", required=True, metavar="DIR", help="a folder made by backup"
    )
    rs.add_argument("--force", action="store_true", help="replace an existing warehouse file")
    rs.set_defaults(func=cmd_restore)

    dv = sub.add_parser("dev", help="the Dagster UI and daemon (dagster dev); Ctrl-C stops them")
    dv.add_argument("--host", default="127.0.0.1")
    dv.add_argument("--port", type=_positive, default=3000)
    dv.set_defaults(func=cmd_dev)

    demo = sub.add_parser("demo", help="generate sample data, load everything, print the summary")
    demo.add_argument("--days", type=_positive, default=30)
    demo.add_argument("--events-per-day", type=_positive, default=1_000)
    demo.add_argument("--songs", type=_at_least(10), default=500)
    demo.add_argument("--customers", type=_positive, default=200)
    demo.add_argument("--invoices-per-day", type=_positive, default=5)
    demo.add_argument("--seed", type=int, default=42)
    demo.set_defaults(func=cmd_demo)

    from music_dwh.bench.harness import add_arguments as add_bench_arguments

    bn = sub.add_parser(
        "bench", help="benchmark music_dwh against its baselines (writes bench/results.md)"
    )
    add_bench_arguments(bn)
    bn.set_defaults(func=cmd_bench)

    from music_dwh.bench.latency import add_arguments as add_latency_arguments

    bl = sub.add_parser(
        "bench-latency", help="file landed → rows in the star for one day, through the daemon"
    )
    add_latency_arguments(bl)
    bl.set_defaults(func=cmd_bench_latency)
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
    from music_dwh.runs.supervisor import Interrupted, signals_raise

    try:
        with signals_raise():
            return func(args)
    except Exception as exc:
        # Imported only now: they import Dagster and pyarrow (≈0.7 s), which `load` (a
        # supervisor of the worker process that runs Dagster) does not need itself.
        from music_dwh.resources.raw_store import RawStoreError
        from music_dwh.resources.warehouse import WarehouseError
        from music_dwh.resources.writer_lock import LockTimeout

        if isinstance(exc, LockTimeout):
            print(f"music-dwh: {exc}", file=sys.stderr)
            return 1
        if isinstance(exc, UserError | SettingsError | RawStoreError | WarehouseError):
            print(f"music-dwh: {exc}", file=sys.stderr)
            return 2
        raise
    except Interrupted as exc:
        print(f"music-dwh: {args.command} stopped by {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print(
            f"music-dwh: {args.command} stopped by Ctrl-C (SIGINT); nothing is half-written",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
