"""Floor: DuckDB scans every raw log file once (``floor.sql``: ``count(*)`` over
``read_json_auto``). The least work any pipeline must do; every approach is compared with it.

Usage (the harness runs it): ``python -m bench.floor --raw DIR``.
"""

from __future__ import annotations

import argparse
import sys

from bench.common import Phases, emit_result, sql_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.floor", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--raw", required=True, help="raw store folder (holds sparkify/)")
    args = parser.parse_args(argv)
    phases = Phases()
    with phases.phase("import"):
        import duckdb
    with phases.phase("scan"):
        con = duckdb.connect()
        events = con.execute(sql_file("floor.sql").replace("${RAW}", args.raw)).fetchone()[0]
        con.close()
    emit_result(phases=phases.seconds, events=events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
