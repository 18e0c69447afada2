"""Baseline: the seeds' ELT (Redshift COPY + INSERT … SELECT), re-implemented on PostgreSQL.

The seeds' "data warehouse" project loads every raw file with two ``COPY … FORMAT AS JSON``
commands into ``staging_events``/``staging_songs``, then fills the star schema with one
``INSERT … SELECT`` per table, matching plays to songs on exact title, artist name and
duration. Here (SQL in ``seed_elt/*.sql``, run in file order):

1. ``01_create_tables.sql``: the seeds' tables (drop and create);
2. ``02_copy_*.sql``: one ``COPY … FROM STDIN`` per source streams every line of every file
   (all log files, then all song files, as Redshift's COPY reads a whole key prefix) into a
   jsonb column: PostgreSQL's closest equivalent of a JSON COPY;
3. ``03_stage_*.sql``: jsonb keys → the staging columns (what Redshift's COPY does on load);
4. ``04``–``08``: the seeds' inserts into songplays, users, songs, artists, time;
5. ``09_drop_landing.sql``: drop the jsonb landing tables.

Everything commits once at the end. Usage (the harness runs it):
``python -m bench.seed_elt --raw DIR --port N --dbname DB`` with PGPASSWORD set.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.common import (
    PACKAGE_DIR,
    ChainedLines,
    Phases,
    add_pg_arguments,
    emit_result,
    log_files,
    pg_connect,
    pg_row_counts,
    song_files,
    sql_statements,
)

SQL_DIR = PACKAGE_DIR / "seed_elt"
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")


def run(args: argparse.Namespace) -> dict:
    raw = Path(args.raw)
    phases = Phases()
    con = pg_connect(args)
    try:
        with con.cursor() as cur:
            for path in sorted(SQL_DIR.glob("*.sql")):
                text = path.read_text()
                with phases.phase(path.stem):
                    if path.name.startswith("02_copy_"):
                        files = log_files(raw) if "events" in path.name else song_files(raw)
                        cur.copy_expert(sql_statements(text)[0], ChainedLines(files), size=1 << 20)
                    else:
                        for statement in sql_statements(text):
                            cur.execute(statement)
        with phases.phase("commit"):
            con.commit()
        with con.cursor() as cur:
            rows = pg_row_counts(cur, ("staging_events", "staging_songs", *STAR_TABLES))
            cur.execute("select count(*) from songplays where song_id is not null")
            matched = cur.fetchone()[0]
    finally:
        con.close()
    return {"phases": phases.seconds, "rows": rows, "matched_plays": matched}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.seed_elt", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--raw", required=True, help="raw store folder (holds sparkify/)")
    add_pg_arguments(parser)
    args = parser.parse_args(argv)
    emit_result(**run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
