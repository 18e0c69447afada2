"""``music-dwh load`` and ``summary``: the days of a source system materialized as one Dagster
run each (``run``), in a worker process this one supervises (``supervisor``), and what the
warehouse then holds."""

from __future__ import annotations

import argparse
import datetime as dt
import os
from collections.abc import Sequence

from music_dwh.cli.common import (
    SYSTEMS,
    UserError,
    add_command,
    date_argument,
    open_store,
    say,
    verbose_option,
)
from music_dwh.cli.instance import ensure_dagster_home
from music_dwh.cli.run import LAYERS, LoadPlan
from music_dwh.settings import REPO_ROOT, get_settings


# ---------------------------------------------------------------------------- load
def _raw_days(system: str) -> list[dt.date]:
    """The delivered days, parsed by the source's contract as its sensor parses them."""
    from music_dwh.sources import SYSTEMS, delivered_days

    store = open_store(None)
    return delivered_days(system, (o.key for o in store.list(SYSTEMS[system].DAILY_PREFIX)))


def _no_days(system: str) -> UserError:
    """No day of ``system`` in the raw store: what was expected there and what was found."""
    import itertools

    from music_dwh.sources import layout_problem

    store = open_store(None)
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
    answer Ctrl-C (``music_dwh.cli.supervisor``). Returns the worker's exit status."""
    from music_dwh.cli.supervisor import run_worker

    # The instance first: its storage refusing the credentials says more than the days do.
    ensure_dagster_home()
    plans = [plan_load(system, start, end, through, verbose) for system in systems]
    return run_worker(plans, say)


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
        say(f"\nWarehouse {settings.warehouse.redacted()}")
        for system in SYSTEMS:
            tables = session.table_names(system)
            if not tables:
                continue
            say(f"\n{system}: rows per table")
            cells = []
            for table in tables:
                count = session.count_rows(f"{system}.{table}")
                cells.append(f"{table:<24}{count:>9,}")
            for i in range(0, len(cells), 3):  # three columns: the demo fits on two screens
                say("  " + "   ".join(cells[i : i + 3]))
        if session.table_exists("sparkify.songplays"):
            plays, matched = session.query(_analysis("sparkify_match_rate"))[0]
            rate = matched / plays if plays else 0.0
            say(
                f"\nsparkify: {plays:,} plays, {matched:,} matched to a catalogue song ({rate:.1%})"
            )
            # The report's ranking: every play counts, a song outside the catalogue under the
            # title and artist as logged.
            top = session.query(_analysis("report_sparkify_top_songs"))[:5]
            say("\nTop 5 songs (every play; * = not in the song catalogue)")
            say(f"  {'plays':>7}  song — artist")
            for title, artist, in_catalogue, count in top:
                say(f"  {count:>7,}  {title} — {artist}{'' if in_catalogue else ' *'}")
            say("\nBusiest hours (UTC)")
            for hour, count in session.query(_analysis("sparkify_busiest_hours")):
                say(f"  {hour:02d}:00  {count:>7,} plays")
    from music_dwh.reports.kit import report_path

    reports = [report_path(system) for system in SYSTEMS if report_path(system).exists()]
    if reports:
        say("\nReports (open in a browser)")
        for path in reports:
            say(f"  {path}")


def cmd_summary(args: argparse.Namespace) -> int:
    print_summary()
    return 0


# ---------------------------------------------------------------------------- parser
def add_commands(sub) -> None:
    ld = add_command(
        sub, "load", "materialize a system's assets for a range of days (one Dagster run)"
    )
    ld.add_argument("system", choices=[*SYSTEMS, "all"], help="the source system, or all")
    ld.add_argument(
        "--start", type=date_argument, help="first day (default: the first day delivered)"
    )
    ld.add_argument(
        "--end", type=date_argument, help="last day, inclusive (default: the last day delivered)"
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

    sm = add_command(
        sub, "summary", "rows per table, top songs, busiest hours, where the reports are"
    )
    sm.set_defaults(func=cmd_summary)
