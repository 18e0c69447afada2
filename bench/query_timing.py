"""Query latency: the seeds' analytic questions (``queries/*.sql``) timed on a star schema,
after one untimed warm-up, median of :data:`~bench.model.QUERY_RUNS` runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

from bench.common import PACKAGE_DIR
from bench.model import QUERY_RUNS


def query_files() -> dict[str, str]:
    return {p.stem: p.read_text() for p in sorted((PACKAGE_DIR / "queries").glob("*.sql"))}


def _time_queries(execute: Callable[[str], int]) -> dict[str, dict]:
    results = {}
    for name, sql in query_files().items():
        rows = execute(sql)  # warm-up (not timed)
        times = []
        for _ in range(QUERY_RUNS):
            started = time.perf_counter()
            execute(sql)
            times.append(time.perf_counter() - started)
        results[name] = {"median_s": statistics.median(times), "min_s": min(times), "rows": rows}
    return results


def duckdb_queries(path: Path) -> dict[str, dict]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return _time_queries(lambda sql: len(con.execute(sql).fetchall()))
    finally:
        con.close()


def postgres_queries(server, database: str) -> dict[str, dict]:
    con = server.connect(database)
    con.autocommit = True
    try:
        with con.cursor() as cur:

            def execute(sql: str) -> int:
                cur.execute(sql)
                return len(cur.fetchall())

            return _time_queries(execute)
    finally:
        con.close()
