"""Reader: DuckDB loads every raw log file into a table of a new database file (``reader.sql``),
without judging a record. What staging costs beyond its reading and writing is measured
against it.

Usage (the harness runs it): ``python -m bench.reader --raw DIR --db FILE``.
"""

from __future__ import annotations

import argparse
import sys

from bench.common import Phases, emit_result, sql_file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.reader", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--raw", required=True, help="raw store folder (holds sparkify/)")
    parser.add_argument("--db", required=True, help="DuckDB file to create (must not exist)")
    args = parser.parse_args(argv)
    phases = Phases()
    with phases.phase("import"):
        import duckdb
    with phases.phase("load"):
        con = duckdb.connect(args.db)
        statements = [s for s in sql_file("reader.sql").replace("${RAW}", args.raw).split(";")]
        for statement in statements[:-2]:
            con.execute(statement)
        events = con.execute(statements[-2]).fetchone()[0]
        con.execute("checkpoint")
        con.close()
    emit_result(phases=phases.seconds, events=events)
    return 0


if __name__ == "__main__":
    sys.exit(main())
