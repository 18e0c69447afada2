"""``music-dwh generate``, ``export-chinook``, ``demo`` and ``clean-demo``: sample data in each
source system's own raw format, and the demo that loads it, all of it under ./data."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import time
from pathlib import Path

from music_dwh.cli.common import (
    SYSTEMS,
    UserError,
    add_command,
    at_least,
    date_argument,
    force_option,
    open_store,
    positive,
    raw_store_option,
    say,
    verbose_option,
)
from music_dwh.cli.instance import DEFAULT_DAGSTER_HOME, SHIPPED_MARKER
from music_dwh.cli.load import load, print_summary
from music_dwh.settings import SettingsError, get_settings


# ---------------------------------------------------------------------------- generate
def cmd_generate(args: argparse.Namespace) -> int:
    store = open_store(args.out)
    started = time.monotonic()
    if args.system == "sparkify":
        from music_dwh.datagen.sparkify import generate_sparkify

        say(f"Generating Sparkify data into {store.describe()} …")
        summary = generate_sparkify(
            store,
            start=args.start or dt.date(2018, 11, 1),
            days=args.days,
            events_per_day=args.events_per_day,
            songs=args.songs,
            seed=args.seed,
            progress=say if args.verbose else None,
            force=args.force,
        )
    else:
        from music_dwh.datagen.chinook import generate_chinook

        say(f"Generating Chinook data into {store.describe()} …")
        summary = generate_chinook(
            store,
            start=args.start or dt.date(2021, 1, 1),
            days=args.days,
            customers=args.customers,
            invoices_per_day=args.invoices_per_day,
            seed=args.seed,
            progress=say if args.verbose else None,
            force=args.force,
        )
    say(f"{summary.describe()} ({time.monotonic() - started:.1f} s)")
    return 0


def cmd_export_chinook(args: argparse.Namespace) -> int:
    from music_dwh.datagen.chinook_export import ChinookExportError, export_chinook

    store = open_store(args.out)
    say(f"Exporting {args.sqlite} into {store.describe()} …")
    try:
        summary = export_chinook(
            args.sqlite, store, progress=say if args.verbose else None, force=args.force
        )
    except ChinookExportError as exc:
        raise UserError(str(exc)) from None
    say(summary.describe())
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
        say(
            f"The demo writes only under {data}; it ignores {', '.join(ignored)} from the environment"
        )
    # The load's worker process reads its settings from this environment.
    with temporary_environ(env):
        return _demo(args)


def _demo(args: argparse.Namespace) -> int:
    from music_dwh.datagen import chinook, sparkify
    from music_dwh.datagen.ownership import refusal, survey

    settings = get_settings()
    store = open_store(None)
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
    say(f"[1/3] Generating sample data into {settings.raw}")
    generated = sparkify.generate_sparkify(
        store,
        start=settings.sparkify_start,
        days=args.days,
        events_per_day=args.events_per_day,
        songs=args.songs,
        seed=args.seed,
        force=args.force,
    )
    say(f"      {generated.describe()}")
    generated = chinook.generate_chinook(
        store,
        start=settings.chinook_start,
        days=args.days,
        customers=args.customers,
        invoices_per_day=args.invoices_per_day,
        seed=args.seed,
        force=args.force,
    )
    say(f"      {generated.describe()}")
    say(f"[2/3] Materializing every asset for every partition into {settings.warehouse.redacted()}")
    status = load(SYSTEMS, None, None)
    say("[3/3] Summary")
    print_summary()
    say("\nExplore it in the Dagster UI: make dev  (then open http://127.0.0.1:3000)")
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
        store = open_store(str(raw))
        writers = (sparkify.WRITER, chinook.WRITER, chinook_export.WRITER)
        removed = sum(remove_written(store, writer) for writer in writers)
        kept = len({o.key for w in writers for prefix in w.scope for o in store.list(prefix)})
    say(f"{raw}: removed {removed:,} generated files, kept {kept:,} it did not write")
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
    say(f"removed the demo's warehouse, reports and Dagster instance under {raw.parent}")
    return 0


# ---------------------------------------------------------------------------- parser
def add_commands(sub) -> None:
    gen = add_command(
        sub, "generate", "write a synthetic raw dataset in a source system's own format"
    )
    gen_sub = gen.add_subparsers(dest="system", required=True, metavar="SYSTEM")
    g = add_command(gen_sub, "sparkify", "Sparkify: daily event logs and the song catalogue")
    g.add_argument(
        "--start", type=date_argument, help="first day, YYYY-MM-DD (default: 2018-11-01)"
    )
    g.add_argument("--days", type=positive, default=30, help="days of event logs")
    g.add_argument("--events-per-day", type=positive, default=1_000, help="events in each day")
    g.add_argument("--songs", type=at_least(10), default=500, help="songs in the catalogue")
    g.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    raw_store_option(g)
    verbose_option(g, "a line per day written")
    force_option(g)
    g.set_defaults(func=cmd_generate)
    c = add_command(gen_sub, "chinook", "Chinook: store reference tables and daily invoices")
    c.add_argument(
        "--start", type=date_argument, help="first day, YYYY-MM-DD (default: 2021-01-01)"
    )
    c.add_argument("--days", type=positive, default=90, help="days of sales")
    c.add_argument("--customers", type=positive, default=200, help="customers of the store")
    c.add_argument("--invoices-per-day", type=positive, default=5, help="average invoices a day")
    c.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    raw_store_option(c)
    verbose_option(c, "a line per table and every tenth of the days written")
    force_option(c)
    c.set_defaults(func=cmd_generate)

    ex = add_command(
        sub, "export-chinook", "turn a Chinook SQLite database into the raw CSV layout"
    )
    ex.add_argument("--sqlite", required=True, help="path to Chinook_Sqlite.sqlite")
    raw_store_option(ex)
    verbose_option(ex, "a line per table and every 50 days written")
    force_option(ex)
    ex.set_defaults(func=cmd_export_chinook)

    demo = add_command(
        sub, "demo", "generate sample data, load everything, print the summary (all under ./data)"
    )
    demo.add_argument("--days", type=positive, default=30, help="days of each system")
    demo.add_argument(
        "--events-per-day", type=positive, default=1_000, help="Sparkify events a day"
    )
    demo.add_argument("--songs", type=at_least(10), default=500, help="songs in the catalogue")
    demo.add_argument("--customers", type=positive, default=200, help="Chinook customers")
    demo.add_argument(
        "--invoices-per-day", type=positive, default=5, help="average Chinook invoices a day"
    )
    demo.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    force_option(demo)
    demo.set_defaults(func=cmd_demo)
    cd = add_command(
        sub,
        "clean-demo",
        "remove what the project writes under ./data (files of your own there are kept)",
    )
    cd.set_defaults(func=cmd_clean_demo)
