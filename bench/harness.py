"""``music-dwh bench``: measure music_dwh against its baselines on the same generated files.

One command generates Sparkify data with the project's generator (default 30 days × 27,000
events per day ≈ 810,000 events, 7,100 songs; ``--scale`` multiplies the events per day), then
measures, each as a whole process (median of ``--repeat`` runs):

=============  ==============================================================================
``floor``      DuckDB ``count(*)`` over ``read_json_auto`` of the log files (floor.sql)
``reader``     DuckDB loads the log files into a table of a new file, nothing judged (reader.sql)
``oneshot``    one hand-written DuckDB script building the star schema (one_shot.sql)
``duckdb``     music_dwh: ``music-dwh load sparkify`` (staging, star, marts, checks, report) as
               one single-run backfill, fresh DAGSTER_HOME and warehouse file every run
``duckdb-star`` the same up to the star schema only (``music-dwh load sparkify --through star``)
``duckdb-staging`` the same up to staging, its checks included (``--through staging``)
``postgres``   the same on PostgreSQL (a local server the harness starts and stops)
``seed-elt``   baseline: the seeds' Redshift ELT (COPY + INSERT … SELECT) on PostgreSQL
``row-by-row`` baseline: pandas + iterrows + one ``cursor.execute`` per row, on the first
               ``--row-by-row-days`` days, reported per event
=============  ==============================================================================

plus the incremental cost of one new day with 1, 30 and 300 days loaded, storage per table,
query latency of the seeds' analytic questions, the orchestration costs of issue 13 (an import
baseline, the same events over 30 vs 300 days, the public Chinook history on the SQLite and a
PostgreSQL-backed Dagster instance: ``orchestration.py``), and a markdown report
(``bench/results.md``, also printed) with the machine, the versions and the targets met or
missed. Heavy imports (Dagster, DuckDB, psycopg2) happen inside functions: building the CLI
parser stays cheap.

This module is the entry point. The parts: ``options.py`` (the arguments), ``model.py``
(approaches, targets, result types), ``dataset.py`` (generation), ``runner.py`` (runs and
measures every part), ``commands.py`` (``music-dwh`` as the bench runs it), ``profile.py``
(step timings from the Dagster instance), ``storage.py``, ``query_timing.py``, ``machine.py``,
``orchestration.py`` (issue 13's costs; its report part in ``orchestration_report.py``)
and ``report.py`` with ``text.py`` (the markdown).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from bench import options
from bench.model import POSTGRES_APPROACHES, BenchError, Report, say

__all__ = ["BenchError", "add_arguments", "main"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``music-dwh bench`` options."""
    from bench import orchestration

    options.add_arguments(parser)
    orchestration.add_arguments(parser)


# ---------------------------------------------------------------------------- entry point
def main(args: argparse.Namespace) -> int:
    from bench import orchestration
    from bench.report import render
    from bench.runner import Bench

    config = options.config_from_args(args)
    orchestration.check_config(config)
    if any(a in POSTGRES_APPROACHES for a in config.approaches):
        from bench.pgserver import postgres_bindir

        if postgres_bindir() is None:
            raise BenchError(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install them "
                "(apt-get install -y postgresql) or choose --approaches floor,oneshot,duckdb"
            )
    _cleanup_on_signals()
    report = Bench(config).run()
    markdown = render(report)
    out = config.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown)
    out.with_suffix(".json").write_text(json.dumps(_jsonable(report), indent=2, default=str) + "\n")
    print()
    print(markdown, flush=True)
    say(f"Results written to {out} (and {out.with_suffix('.json').name})")
    if report.failures:
        say(f"{len(report.failures)} part(s) FAILED:")
        for failure in report.failures:
            print(failure, file=sys.stderr)
        return 1
    return 0


def _cleanup_on_signals() -> None:
    """SIGINT raises KeyboardInterrupt even where a shell started the bench in the background
    (which ignores SIGINT); SIGTERM and SIGHUP already raise ``Interrupted`` (``music-dwh``'s
    main). Either way the PostgreSQL server is stopped and the work folder removed on the way
    out, and a running ``music-dwh load`` is killed with its worker."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGINT, interrupt)


def _jsonable(report: Report) -> dict:
    from bench.report import targets

    data = asdict(report)
    data["approaches"] = {
        name: {
            **asdict(r),
            "median_wall": r.median_wall,
            "peak_rss": r.peak_rss,
            "server_peak": r.server_peak,
        }
        for name, r in report.approaches.items()
    }
    if report.dataset:
        data["targets"] = [{"target": t, "measured": m, "result": v} for t, m, v in targets(report)]
    return data
