"""The options of ``music-dwh bench`` (the orchestration-cost part adds its own:
``orchestration.add_arguments``) and the :class:`BenchConfig` they make."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.model import (
    APPROACHES,
    DEFAULT_DAYS,
    DEFAULT_EVENTS_PER_DAY,
    DEFAULT_INCREMENTAL_EVENTS_PER_DAY,
    DEFAULT_INCREMENTAL_LOADED,
    DEFAULT_OUT,
    DEFAULT_SONGS,
    BenchConfig,
)
from music_dwh.cli.common import positive


def _approach_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["all"]:
        return list(APPROACHES)
    unknown = [n for n in names if n not in APPROACHES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown approach(es) {', '.join(unknown) or '(none)'}; "
            f"choose from all, {', '.join(APPROACHES)}"
        )
    return [n for n in APPROACHES if n in names]  # always in the harness's order


def _loaded_list(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give whole numbers of days, e.g. 1,30,300"
        ) from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r}: every number of loaded days must be at least 1"
        )
    return values


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be above 0")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``music-dwh bench`` options of the harness's own parts."""
    parser.add_argument(
        "--scale",
        type=_positive_float,
        default=1.0,
        help=f"multiplies the events per day (1.0 = {DEFAULT_DAYS} days × "
        f"{DEFAULT_EVENTS_PER_DAY:,} events; 10 ≈ 8M events)",
    )
    parser.add_argument("--days", type=positive, default=DEFAULT_DAYS, help="days of logs")
    parser.add_argument("--events-per-day", type=positive, help="overrides --scale")
    parser.add_argument("--songs", type=positive, default=DEFAULT_SONGS, help="catalogue size")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument(
        "--approaches",
        type=_approach_list,
        default=list(APPROACHES),
        help=f"comma-separated: {','.join(APPROACHES)} (default all)",
    )
    parser.add_argument("--repeat", type=positive, default=3, help="runs per approach (median)")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help="markdown report (default bench/results.md; a .json beside it)",
    )
    parser.add_argument("--skip-incremental", action="store_true", help="no incremental-cost runs")
    parser.add_argument("--skip-queries", action="store_true", help="no query-latency runs")
    parser.add_argument(
        "--row-by-row-days",
        type=positive,
        default=2,
        help="days the row-by-row baseline processes (default 2)",
    )
    parser.add_argument(
        "--incremental-loaded",
        type=_loaded_list,
        default=list(DEFAULT_INCREMENTAL_LOADED),
        help="days already loaded before each timed one-day load (default 1,30,300)",
    )
    parser.add_argument(
        "--incremental-events-per-day",
        type=positive,
        default=DEFAULT_INCREMENTAL_EVENTS_PER_DAY,
        help="events per day of the incremental dataset "
        f"(default {DEFAULT_INCREMENTAL_EVENTS_PER_DAY:,})",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        help="where data, warehouses and logs go (default: a new temporary folder)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder afterwards")


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    events_per_day = args.events_per_day or max(1, round(DEFAULT_EVENTS_PER_DAY * args.scale))
    return BenchConfig(
        days=args.days,
        events_per_day=events_per_day,
        songs=args.songs,
        seed=args.seed,
        scale=args.scale,
        approaches=args.approaches,
        repeat=args.repeat,
        out=args.out,
        skip_incremental=args.skip_incremental,
        skip_queries=args.skip_queries,
        row_by_row_days=min(args.row_by_row_days, args.days),
        incremental_loaded=args.incremental_loaded,
        incremental_events_per_day=args.incremental_events_per_day,
        workdir=args.workdir,
        keep=args.keep,
        command=" ".join(["music-dwh bench", *sys.argv[2:]]),
        spread_events=args.spread_events,
        spread_days=args.spread_days,
        skip_spread=args.skip_spread,
        chinook_sqlite=args.chinook_sqlite,
        skip_chinook=args.skip_chinook,
    )
