"""``music-dwh bench`` and ``bench-latency``."""

from __future__ import annotations

import argparse

from music_dwh.cli.common import HelpFormatter, UserError

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
        prog=f"music-dwh {args.command}", description=text, formatter_class=HelpFormatter
    )
    module.add_arguments(parser)
    try:
        return module.main(parser.parse_args(args.bench_argv))
    except getattr(module, error_name) as exc:
        raise UserError(str(exc)) from None


def add_commands(sub) -> None:
    for name, (_, _, text) in BENCH_COMMANDS.items():
        # Its options are the bench's own (cmd_bench): everything after the name goes to it.
        sub.add_parser(name, help=text, description=text, add_help=False).set_defaults(
            func=cmd_bench
        )
