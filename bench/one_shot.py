"""One-shot reference: ``one_shot.sql``, a single hand-written DuckDB script that builds the
Sparkify star schema straight from the raw files into a new DuckDB file.

Usage (the harness runs it): ``python -m bench.one_shot --raw DIR --db FILE``.
"""

from __future__ import annotations

import argparse
import sys

from bench.common import Phases, emit_result, sql_file, sql_statements

STAR_TABLES = ("songplays", "users", "songs", "artists", "time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.one_shot", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--raw", required=True, help="raw store folder (holds sparkify/)")
    parser.add_argument("--db", required=True, help="DuckDB file to create (replaced if it exists)")
    args = parser.parse_args(argv)
    phases = Phases()
    with phases.phase("import"):
        import duckdb
    with phases.phase("script"):
        con = duckdb.connect(args.db)
        for statement in sql_statements(sql_file("one_shot.sql").replace("${RAW}", args.raw)):
            con.execute(statement)
    rows = {
        t: con.execute(f'select count(*) from sparkify."{t}"').fetchone()[0] for t in STAR_TABLES
    }
    matched = con.execute("select count(song_id) from sparkify.songplays").fetchone()[0]
    con.close()
    emit_result(phases=phases.seconds, rows=rows, matched_plays=matched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
