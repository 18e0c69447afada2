"""Baseline: the classic row-by-row Sparkify ETL (pandas + one INSERT per row) on PostgreSQL.

What many Sparkify projects' ``etl.py`` does, kept as written there (SQL in
``row_by_row/*.sql``):

* every song file: ``pd.read_json(path, lines=True)``, the first record's song and artist
  inserted with one ``cursor.execute`` each (``ON CONFLICT DO NOTHING``);
* every log file: ``pd.read_json(path, lines=True)``, keep ``NextSong`` events; then, with
  ``iterrows``, one insert per time row, one upsert per user row, and for each play one
  song lookup query (exact title, artist name and duration) and one songplay insert;
* one transaction per file (``conn.commit()`` after each).

The one change: a row is passed to ``cursor.execute`` as ``list(row)`` (passing the pandas
Series itself, as some copies do, relies on positional indexing pandas 3 no longer has).

The harness runs it on the first days of the same files and reports it per event; the result
line has the two phases (songs, logs) apart so the cost can be scaled to the full dataset.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench.common import (
    Phases,
    add_pg_arguments,
    emit_result,
    log_files,
    pg_connect,
    pg_row_counts,
    song_files,
    sql_file,
    sql_statements,
)

STAR_TABLES = ("songplays", "users", "songs", "artists", "time")


def _sql(name: str) -> str:
    return sql_file("row_by_row", f"{name}.sql")


def _register_numpy_adapters() -> None:
    """numpy scalars as SQL literals (what seed projects add when psycopg2 refuses int64)."""
    import numpy as np
    from psycopg2.extensions import AsIs, register_adapter

    for kind in (np.int64, np.int32, np.uint32, np.float64):
        register_adapter(kind, AsIs)


def process_song_file(cur, filepath: Path, q: dict[str, str]) -> None:
    import pandas as pd

    df = pd.read_json(filepath, lines=True)
    song_data = df[["song_id", "title", "artist_id", "year", "duration"]].values[0].tolist()
    cur.execute(q["song_insert"], song_data)
    artist_data = (
        df[["artist_id", "artist_name", "artist_location", "artist_latitude", "artist_longitude"]]
        .values[0]
        .tolist()
    )
    cur.execute(q["artist_insert"], artist_data)


def process_log_file(cur, filepath: Path, q: dict[str, str]) -> tuple[int, int, int]:
    """Returns (events in the file, plays, plays matched to a song)."""
    import pandas as pd

    df = pd.read_json(filepath, lines=True)
    events = len(df)
    df = df[df["page"] == "NextSong"]

    t = pd.to_datetime(df["ts"], unit="ms")
    time_data = (
        t,
        t.dt.hour,
        t.dt.day,
        t.dt.isocalendar().week,
        t.dt.month,
        t.dt.year,
        t.dt.weekday,
    )
    column_labels = ("start_time", "hour", "day", "week", "month", "year", "weekday")
    time_df = pd.DataFrame(dict(zip(column_labels, time_data, strict=True)))
    for _, row in time_df.iterrows():
        cur.execute(q["time_insert"], list(row))

    user_df = df[["userId", "firstName", "lastName", "gender", "level"]]
    for _, row in user_df.iterrows():
        cur.execute(q["user_insert"], list(row))

    matched = 0
    for _, row in df.iterrows():
        cur.execute(q["song_select"], (row.song, row.artist, row.length))
        results = cur.fetchone()
        if results:
            songid, artistid = results
            matched += 1
        else:
            songid, artistid = None, None
        songplay_data = (
            pd.to_datetime(row.ts, unit="ms"), row.userId, row.level, songid, artistid,
            row.sessionId, row.location, row.userAgent,
        )  # fmt: skip
        cur.execute(q["songplay_insert"], songplay_data)
    return events, len(df), matched


def run(args: argparse.Namespace) -> dict:
    phases = Phases()
    with phases.phase("imports"):
        import pandas  # noqa: F401  (the seeds import it at the top; charged to this run)

        _register_numpy_adapters()
    raw = Path(args.raw)
    q = {name: _sql(name) for name in
         ("songplay_insert", "user_insert", "song_insert", "artist_insert", "time_insert", "song_select")}  # fmt: skip
    con = pg_connect(args)
    events = plays = matched = 0
    try:
        with con.cursor() as cur:
            with phases.phase("create_tables"):
                for statement in sql_statements(_sql("create_tables")):
                    cur.execute(statement)
                con.commit()
            songs = song_files(raw)
            with phases.phase("songs"):
                for path in songs:
                    process_song_file(cur, path, q)
                    con.commit()
            logs = log_files(raw, args.days)
            with phases.phase("logs"):
                for path in logs:
                    e, p, m = process_log_file(cur, path, q)
                    events, plays, matched = events + e, plays + p, matched + m
                    con.commit()
            rows = pg_row_counts(cur, STAR_TABLES)
    finally:
        con.close()
    return {
        "phases": phases.seconds,
        "rows": rows,
        "events": events,
        "plays": plays,
        "matched_plays": matched,
        "song_files": len(songs),
        "log_files": len(logs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.row_by_row", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--raw", required=True, help="raw store folder (holds sparkify/)")
    parser.add_argument("--days", type=int, default=None, help="only the first N log files (days)")
    add_pg_arguments(parser)
    args = parser.parse_args(argv)
    emit_result(**run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
