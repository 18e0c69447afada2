"""``music-dwh``: the parser, and ``main``, which runs a command and turns what it raises into a
line and an exit status.

The commands, by topic: ``sample_data`` (generate, export-chinook, demo, clean-demo), ``load``
(load, summary), ``instance`` (prepare, dev, prune), ``backup`` (backup, restore), ``bench``.
Every command reads the same configuration as the Dagster definitions (``music_dwh/settings.py``);
runs are recorded in the Dagster instance at ``DAGSTER_HOME`` (default ``./data/dagster``) so
they show in ``dagster dev``.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

from music_dwh.cli import backup, bench, instance, load, sample_data
from music_dwh.cli.bench import BENCH_COMMANDS
from music_dwh.cli.common import HelpFormatter, UserError
from music_dwh.settings import SettingsError, read_env_file


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
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "--version", action=_Version, nargs=0, help="print the package and stack versions and exit"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for topic in (sample_data, load, instance, backup, bench):
        topic.add_commands(sub)
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
    from music_dwh.cli.supervisor import Interrupted, signals_raise

    try:
        with signals_raise():
            status = func(args)
            if args.command in ("load", "demo", "prune"):
                from music_dwh.instance.prune import checkpoint

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
