"""What a finished approach left in its warehouse: the star schema's rows, its difference
from the one-shot script's, and the bytes on disk per table (DuckDB and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from bench.model import STAR_TABLES


def duckdb_star_rows(path: Path) -> tuple[dict[str, int], int]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = {
            t: con.execute(f'select count(*) from sparkify."{t}"').fetchone()[0]
            for t in STAR_TABLES
        }
        matched = con.execute("select count(song_id) from sparkify.songplays").fetchone()[0]
    finally:
        con.close()
    return rows, matched


def postgres_star_rows(server, database: str, schema: str) -> tuple[dict[str, int], int]:
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            rows = {}
            for t in STAR_TABLES:
                cur.execute(f'select count(*) from "{schema}"."{t}"')
                rows[t] = cur.fetchone()[0]
            cur.execute(f'select count(song_id) from "{schema}".songplays')
            matched = cur.fetchone()[0]
    finally:
        con.close()
    return rows, matched


def compare_star(one_shot: Path, warehouse: Path) -> dict:
    """Rows of each star table that are in one DuckDB file and not the other (both ways)."""
    import duckdb

    con = duckdb.connect(str(one_shot), read_only=True)
    try:
        con.execute(f"attach '{warehouse}' as w (read_only)")
        result = {}
        for t in STAR_TABLES:
            a = con.execute(
                f'select count(*) from (select * from sparkify."{t}" '
                f'except all select * from w.sparkify."{t}")'
            ).fetchone()[0]
            b = con.execute(
                f'select count(*) from (select * from w.sparkify."{t}" '
                f'except all select * from sparkify."{t}")'
            ).fetchone()[0]
            result[t] = a + b
    finally:
        con.close()
    return result


# ---------------------------------------------------------------------------- storage
def duckdb_storage(path: Path) -> dict:
    """Bytes on disk of a DuckDB warehouse after CHECKPOINT, and per table an estimate from
    ``pragma_storage_info``: each persistent segment's extent in its block (up to the next
    segment, or the block's end) plus any extra blocks it spans."""
    import duckdb

    con = duckdb.connect(str(path))
    try:
        con.execute("checkpoint")
        block_size = con.execute("select block_size from pragma_database_size()").fetchone()[0]
        used_blocks = con.execute("select used_blocks from pragma_database_size()").fetchone()[0]
        tables = con.execute(
            "select schema_name, table_name, estimated_size from duckdb_tables() "
            "where database_name = current_database() and not internal order by 1, 2"
        ).fetchall()
        segments: list[tuple[int, int, str]] = []
        extra: dict[str, int] = {}
        rows: dict[str, int] = {}
        for schema, table, _ in tables:
            name = f"{schema}.{table}"
            rows[name] = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            extra[name] = 0
            for block_id, offset, additional in con.execute(
                "select block_id, block_offset, additional_block_ids from pragma_storage_info(?) "
                "where persistent and block_id >= 0",
                [name],
            ).fetchall():
                segments.append((block_id, offset, name))
                extra[name] += len(additional or []) * block_size
    finally:
        con.close()
    sizes = dict(extra)
    segments.sort()
    for i, (block, offset, name) in enumerate(segments):
        nxt = segments[i + 1] if i + 1 < len(segments) else None
        end = nxt[1] if nxt and nxt[0] == block else block_size
        sizes[name] += max(0, end - offset)
    return {
        "file_bytes": path.stat().st_size,
        "used_bytes": used_blocks * block_size,
        "tables": {name: {"rows": rows[name], "bytes": sizes[name]} for name in rows},
    }


def postgres_storage(server, database: str, schemas: tuple[str, ...]) -> dict:
    con = server.connect(database)
    try:
        with con.cursor() as cur:
            cur.execute(
                "select n.nspname, c.relname, pg_total_relation_size(c.oid) from pg_class c "
                "join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') "
                "and n.nspname = any(%s) order by 1, 2",
                [list(schemas)],
            )
            tables = {}
            for schema, table, size in cur.fetchall():
                cur.execute(f'select count(*) from "{schema}"."{table}"')
                tables[f"{schema}.{table}"] = {"rows": cur.fetchone()[0], "bytes": size}
            cur.execute("select pg_database_size(current_database())")
            database_bytes = cur.fetchone()[0]
    finally:
        con.close()
    return {"database_bytes": database_bytes, "tables": tables}
