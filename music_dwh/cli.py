"""``music-dwh``: generate sample data, load source systems through Dagster, print a summary.

Every command reads the same configuration as the Dagster definitions (``music_dwh/settings.py``);
runs are recorded in the Dagster instance at ``DAGSTER_HOME`` (default ``./data/dagster``) so
they show in ``dagster dev``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from music_dwh.runs.load import LAYERS, LoadPlan, UserError
from music_dwh.settings import REPO_ROOT, SettingsError, get_settings, parse_day, read_env_file

DEFAULT_DAGSTER_HOME = "./data/dagster"
# The first words of the shipped dagster.yaml: a DAGSTER_HOME copy starting so is ours to update.
SHIPPED_MARKER = "# Instance settings shipped with music_dwh."
SYSTEMS = ("sparkify", "chinook")


def _say(message: str) -> None:
    print(message, flush=True)


def _date(text: str) -> dt.date:
    try:
        return parse_day(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _at_least(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = _positive(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} must be at least {minimum}")
        return value

    return parse


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be 0 or more")
    return value


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
            force=args.force,
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
            force=args.force,
        )
    _say(f"{summary.describe()} ({time.monotonic() - started:.1f} s)")
    return 0


def cmd_export_chinook(args: argparse.Namespace) -> int:
    from music_dwh.datagen.chinook_export import ChinookExportError, export_chinook

    store = _store(args.out)
    _say(f"Exporting {args.sqlite} into {store.describe()} …")
    try:
        summary = export_chinook(
            args.sqlite, store, progress=_say if args.verbose else None, force=args.force
        )
    except ChinookExportError as exc:
        raise UserError(str(exc)) from None
    _say(summary.describe())
    return 0


# ---------------------------------------------------------------------------- load
def _raw_days(system: str) -> list[dt.date]:
    """The delivered days, parsed by the source's contract as its sensor parses them."""
    from music_dwh.sources import SYSTEMS, delivered_days

    store = _store(None)
    return delivered_days(system, (o.key for o in store.list(SYSTEMS[system].DAILY_PREFIX)))


def _no_days(system: str) -> UserError:
    """No day of ``system`` in the raw store: what was expected there and what was found."""
    import itertools

    from music_dwh.sources import layout_problem

    store = _store(None)
    missing = not store.is_s3 and not os.path.isdir(store.location)
    keys = None if missing else [o.key for o in itertools.islice(store.list(""), 10_000)]
    return UserError(
        f"no {system} days in the raw store: {layout_problem(system, store.describe(), keys)}\n"
        f"Point MUSIC_DWH_RAW at your raw store, or generate sample data: "
        f"music-dwh generate {system}"
    )


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
    """Check the range of days for ``system`` (default: every day in the raw store): a range in
    which no day has a file is a mistake, said before any run starts."""
    import uuid

    settings = get_settings()
    days = _raw_days(system)
    if not days:
        raise _no_days(system)
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
    if not any(start <= day <= end for day in days):
        raise UserError(
            f"no {system} file for any day of {start} … {end}: the raw store {settings.raw} "
            f"has {system} files for {days[0]} … {days[-1]} ({len(days):,} days). Choose "
            "--start/--end within those days."
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

    # The instance first: its storage refusing the credentials says more than the days do.
    ensure_dagster_home()
    plans = [plan_load(system, start, end, through, verbose) for system in systems]
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
    target = settings.warehouse
    if target.engine == "duckdb" and not target.path.is_file():
        # Opening it would create an empty file: a mistyped path would look like an empty warehouse.
        raise UserError(
            f"no warehouse at {target.path} (MUSIC_DWH_WAREHOUSE={target.url}): check the path, "
            "or load data first (`music-dwh load all`, or `make demo`)"
        )
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
            # The report's ranking: every play counts, a song outside the catalogue under the
            # title and artist as logged.
            top = session.query(_analysis("report_sparkify_top_songs"))[:5]
            _say("\nTop 5 songs (every play; * = not in the song catalogue)")
            _say(f"  {'plays':>7}  song — artist")
            for title, artist, in_catalogue, count in top:
                _say(f"  {count:>7,}  {title} — {artist}{'' if in_catalogue else ' *'}")
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
def demo_environment() -> tuple[dict[str, str], list[str]]:
    """The demo's own places, the embedded defaults under ./data whatever the environment says
    (sample data must never land in a configured raw store, warehouse or Dagster instance), and
    the variables set to somewhere else, which it ignores."""
    from music_dwh.settings import DEFAULTS, parse_warehouse_url

    def place(value: str) -> Path | None:
        return None if value.startswith("s3://") else Path(value).expanduser().resolve()

    def warehouse(url: str) -> Path | None:
        try:
            return parse_warehouse_url(url).path
        except SettingsError:
            return None

    # variable → (the demo's value, how a value names its place)
    own = {
        "MUSIC_DWH_RAW": (DEFAULTS["MUSIC_DWH_RAW"], place),
        "MUSIC_DWH_WAREHOUSE": (DEFAULTS["MUSIC_DWH_WAREHOUSE"], warehouse),
        "MUSIC_DWH_REPORTS": (DEFAULTS["MUSIC_DWH_REPORTS"], place),
        "DAGSTER_HOME": (DEFAULT_DAGSTER_HOME, place),
        "MUSIC_DWH_DAGSTER_STORAGE": ("sqlite", lambda value: value.lower()),
    }
    env: dict[str, str] = {}
    ignored: list[str] = []
    for name, (default, where) in own.items():
        mine = where(default)
        value = os.environ.get(name, "").strip()
        if value and where(value) != mine:
            ignored.append(name)
        env[name] = f"duckdb:///{mine}" if name == "MUSIC_DWH_WAREHOUSE" else str(mine)
    return env, ignored


def cmd_demo(args: argparse.Namespace) -> int:
    """Generate sample data for every system, load everything, print the summary: all of it
    under ./data."""
    from music_dwh.settings import temporary_environ

    env, ignored = demo_environment()
    data = Path(env["MUSIC_DWH_RAW"]).parent
    if ignored:
        _say(
            f"The demo writes only under {data}; it ignores {', '.join(ignored)} from the environment"
        )
    # The load's worker process reads its settings from this environment.
    with temporary_environ(env):
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    from music_dwh.datagen import chinook, sparkify
    from music_dwh.datagen.ownership import refusal, survey

    settings = get_settings()
    store = _store(None)
    foreign = [
        key for system in (sparkify, chinook) for key in survey(store, system.WRITER).foreign
    ]
    if foreign and not args.force:
        raise refusal(
            store,
            "music-dwh demo",
            foreign,
            f"Move them out of {store.describe()}, or add --force to write its files over any at "
            "the same keys (files it does not write are never removed)",
        )
    _say(f"[1/3] Generating sample data into {settings.raw}")
    generated = sparkify.generate_sparkify(
        store,
        start=settings.sparkify_start,
        days=args.days,
        events_per_day=args.events_per_day,
        songs=args.songs,
        seed=args.seed,
        force=args.force,
    )
    _say(f"      {generated.describe()}")
    generated = chinook.generate_chinook(
        store,
        start=settings.chinook_start,
        days=args.days,
        customers=args.customers,
        invoices_per_day=args.invoices_per_day,
        seed=args.seed,
        force=args.force,
    )
    _say(f"      {generated.describe()}")
    _say(
        f"[2/3] Materializing every asset for every partition into {settings.warehouse.redacted()}"
    )
    status = load(SYSTEMS, None, None)
    _say("[3/3] Summary")
    print_summary()
    _say("\nExplore it in the Dagster UI: make dev  (then open http://127.0.0.1:3000)")
    return status


def cmd_clean_demo(args: argparse.Namespace) -> int:
    """Remove what the project writes under ./data, and only that: the generated raw files
    (a file of your own there, or one you changed, is kept), the warehouse, the reports and
    the Dagster instance (a hand-written dagster.yaml is kept)."""
    import shutil

    from music_dwh.datagen import chinook, chinook_export, sparkify
    from music_dwh.datagen.ownership import remove_written
    from music_dwh.reports.kit import REPORT_MARK
    from music_dwh.resources.writer_lock import lock_path
    from music_dwh.settings import parse_warehouse_url

    env, _ = demo_environment()
    raw = Path(env["MUSIC_DWH_RAW"])
    removed = kept = 0
    if raw.is_dir():
        store = _store(str(raw))
        writers = (sparkify.WRITER, chinook.WRITER, chinook_export.WRITER)
        removed = sum(remove_written(store, writer) for writer in writers)
        kept = len({o.key for w in writers for prefix in w.scope for o in store.list(prefix)})
    _say(f"{raw}: removed {removed:,} generated files, kept {kept:,} it did not write")
    warehouse = parse_warehouse_url(env["MUSIC_DWH_WAREHOUSE"]).path
    for path in (warehouse, warehouse.with_name(warehouse.name + ".wal"), lock_path(warehouse)):
        path.unlink(missing_ok=True)
    reports = Path(env["MUSIC_DWH_REPORTS"])
    for system in SYSTEMS:
        report = reports / f"{system}.html"
        if report.is_file() and REPORT_MARK.encode() in report.read_bytes():
            report.unlink()
    home = Path(env["DAGSTER_HOME"])
    if home.is_dir():
        for entry in home.iterdir():
            if entry.name == "dagster.yaml" and not entry.read_text().startswith(SHIPPED_MARKER):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    for folder in (reports, raw, home, raw.parent):
        with contextlib.suppress(OSError):  # kept when something of the user's is left in it
            folder.rmdir()
    _say(f"removed the demo's warehouse, reports and Dagster instance under {raw.parent}")
    return 0


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
# The benchmark is the repository's bench/ package, development tooling the product never
# imports: these commands import it when run, and it parses its own options.
BENCH_COMMANDS = {
    # command: (bench module, its error class, help)
    "bench": (
        "harness",
        "BenchError",
        "benchmark music_dwh against its baselines (bench/results.md)",
    ),
    "bench-latency": (
        "latency",
        "LatencyError",
        "file landed → rows in the star for one day, through the daemon",
    ),
}
BENCH_MISSING = (
    "the benchmark is not installed: it is the repository's bench/ package, which "
    "`make install` (pip install -e '.[dev]' in a clone) installs"
)


def cmd_bench(args: argparse.Namespace) -> int:
    import importlib

    module_name, error_name, text = BENCH_COMMANDS[args.command]
    try:
        module = importlib.import_module(f"bench.{module_name}")
    except ModuleNotFoundError as exc:
        if exc.name not in ("bench", f"bench.{module_name}"):
            raise
        raise UserError(BENCH_MISSING) from None
    parser = argparse.ArgumentParser(
        prog=f"music-dwh {args.command}", description=text, formatter_class=_HelpFormatter
    )
    module.add_arguments(parser)
    try:
        return module.main(parser.parse_args(args.bench_argv))
    except getattr(module, error_name) as exc:
        raise UserError(str(exc)) from None


# ---------------------------------------------------------------------------- prune
def cmd_prune(args: argparse.Namespace) -> int:
    """Remove older runs from the Dagster instance (``music_dwh/runs/prune.py``)."""
    from music_dwh.runs.prune import prune_instance

    keep_days = get_settings().run_retention_days if args.keep_days is None else args.keep_days
    ensure_dagster_home()
    prune_instance(keep_days, _say, dry_run=args.dry_run)
    return 0


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
class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help ends with its default, except where there is none to show (a flag,
    an unset value whose help says what applies)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False, argparse.SUPPRESS) or "default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def version_text() -> str:
    """The package and the stack it runs on: what a bug report needs."""
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    stack = ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb", "duckdb", "great-expectations")
    parts = ", ".join(f"{name} {of(name)}" for name in stack)
    return f"music-dwh {of('music_dwh')} ({parts}; Python {sys.version.split()[0]})"


class _Version(argparse.Action):
    """``--version`` on one line (argparse's own wraps it), the stack looked up only when asked."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="music-dwh",
        description="Generate sample data, load source systems through Dagster, print a summary.",
        formatter_class=_HelpFormatter,
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the package and stack versions and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(parent, name: str, text: str) -> argparse.ArgumentParser:
        return parent.add_parser(name, help=text, description=text, formatter_class=_HelpFormatter)

    def raw_store_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--out", help="raw store: a folder or s3://bucket/prefix (default: MUSIC_DWH_RAW)"
        )

    def verbose_option(p: argparse.ArgumentParser, text: str) -> None:
        p.add_argument("-v", "--verbose", action="store_true", help=text)

    def force_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--force",
            action="store_true",
            help="write even where files it did not write are: its files replace any at the same "
            "keys, the others are kept",
        )

    gen = command(sub, "generate", "write a synthetic raw dataset in a source system's own format")
    gen_sub = gen.add_subparsers(dest="system", required=True, metavar="SYSTEM")
    g = command(gen_sub, "sparkify", "Sparkify: daily event logs and the song catalogue")
    g.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: 2018-11-01)")
    g.add_argument("--days", type=_positive, default=30, help="days of event logs")
    g.add_argument("--events-per-day", type=_positive, default=1_000, help="events in each day")
    g.add_argument("--songs", type=_at_least(10), default=500, help="songs in the catalogue")
    g.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    raw_store_option(g)
    verbose_option(g, "a line per day written")
    force_option(g)
    g.set_defaults(func=cmd_generate)
    c = command(gen_sub, "chinook", "Chinook: store reference tables and daily invoices")
    c.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: 2021-01-01)")
    c.add_argument("--days", type=_positive, default=90, help="days of sales")
    c.add_argument("--customers", type=_positive, default=200, help="customers of the store")
    c.add_argument("--invoices-per-day", type=_positive, default=5, help="average invoices a day")
    c.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    raw_store_option(c)
    verbose_option(c, "a line per table and every tenth of the days written")
    force_option(c)
    c.set_defaults(func=cmd_generate)

    ex = command(sub, "export-chinook", "turn a Chinook SQLite database into the raw CSV layout")
    ex.add_argument("--sqlite", required=True, help="path to Chinook_Sqlite.sqlite")
    raw_store_option(ex)
    verbose_option(ex, "a line per table and every 50 days written")
    force_option(ex)
    ex.set_defaults(func=cmd_export_chinook)

    ld = command(sub, "load", "materialize a system's assets for a range of days (one Dagster run)")
    ld.add_argument("system", choices=[*SYSTEMS, "all"], help="the source system, or all")
    ld.add_argument("--start", type=_date, help="first day (default: the first day delivered)")
    ld.add_argument(
        "--end", type=_date, help="last day, inclusive (default: the last day delivered)"
    )
    ld.add_argument(
        "--through",
        choices=LAYERS,
        default=LAYERS[-1],
        help="materialize up to this layer, with its checks (report = everything)",
    )
    verbose_option(
        ld, "Dagster's full log instead of the progress display (dbt's: sql/logs/dbt.log)"
    )
    ld.set_defaults(func=cmd_load)

    pr = command(sub, "prepare", "set up DAGSTER_HOME and the dbt manifest (make does this)")
    pr.set_defaults(func=cmd_prepare)

    sm = command(sub, "summary", "rows per table, top songs, busiest hours, where the reports are")
    sm.set_defaults(func=cmd_summary)

    bk = command(sub, "backup", "snapshot the DuckDB warehouse into a new folder (Parquet)")
    bk.add_argument("--to", required=True, metavar="DIR", help="a new (or empty) folder")
    bk.set_defaults(func=cmd_backup)
    rs = command(sub, "restore", "replace the DuckDB warehouse with a backup, atomically")
    rs.add_argument(
        "--from", dest="source", required=True, metavar="DIR", help="a folder made by backup"
    )
    rs.add_argument("--force", action="store_true", help="replace an existing warehouse file")
    rs.set_defaults(func=cmd_restore)

    from music_dwh.settings import DEFAULTS

    pn = command(
        sub, "prune", "remove older runs from the Dagster instance, keeping what its UI shows"
    )
    pn.add_argument(
        "--keep-days",
        type=_days,
        metavar="N",
        help="keep the runs of the last N days (default: MUSIC_DWH_RUN_RETENTION_DAYS, "
        f"{DEFAULTS['MUSIC_DWH_RUN_RETENTION_DAYS']} unless set)",
    )
    pn.add_argument("--dry-run", action="store_true", help="say what would go, remove nothing")
    pn.set_defaults(func=cmd_prune)

    dv = command(sub, "dev", "the Dagster web UI and daemon (dagster dev); Ctrl-C stops them")
    dv.add_argument("--host", default="127.0.0.1", help="address the web UI listens on")
    dv.add_argument("--port", type=_positive, default=3000, help="port of the web UI")
    dv.set_defaults(func=cmd_dev)

    demo = command(
        sub, "demo", "generate sample data, load everything, print the summary (all under ./data)"
    )
    demo.add_argument("--days", type=_positive, default=30, help="days of each system")
    demo.add_argument(
        "--events-per-day", type=_positive, default=1_000, help="Sparkify events a day"
    )
    demo.add_argument("--songs", type=_at_least(10), default=500, help="songs in the catalogue")
    demo.add_argument("--customers", type=_positive, default=200, help="Chinook customers")
    demo.add_argument(
        "--invoices-per-day", type=_positive, default=5, help="average Chinook invoices a day"
    )
    demo.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    force_option(demo)
    demo.set_defaults(func=cmd_demo)
    cd = command(
        sub,
        "clean-demo",
        "remove what the project writes under ./data (files of your own there are kept)",
    )
    cd.set_defaults(func=cmd_clean_demo)

    for name, (_, _, text) in BENCH_COMMANDS.items():
        # Its options are the bench's own (cmd_bench): everything after the name goes to it.
        sub.add_parser(name, help=text, description=text, add_help=False).set_defaults(
            func=cmd_bench
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # Beta/preview notices about Dagster parameters are for library authors, not operators.
    warnings.filterwarnings("ignore", category=Warning, module=r"dagster(\.|$)")
    warnings.filterwarnings("ignore", message=r".*(is currently in beta|is currently in preview).*")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    try:
        from_env_file = read_env_file()
    except Exception as exc:  # a malformed .env: the parser's own words, one line
        print(f"music-dwh: cannot read .env in {Path.cwd()}: {exc}", file=sys.stderr)
        return 2
    if from_env_file:
        print(f"music-dwh: read {', '.join(from_env_file)} from .env", file=sys.stderr)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if args.command in BENCH_COMMANDS:
        args.bench_argv = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    func: Callable[[argparse.Namespace], int] = args.func
    from music_dwh.runs.supervisor import Interrupted, signals_raise

    try:
        with signals_raise():
            status = func(args)
            if args.command in ("load", "demo", "prune"):
                from music_dwh.runs.prune import checkpoint

                checkpoint()  # no -wal file as large as the run's events stays behind
            return status
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
