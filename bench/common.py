"""Helpers shared by the benchmark's approach scripts (each runs as its own process).

Every approach script ends by printing one line ``BENCH_RESULT {json}`` (phase timings, row
counts); the harness reads it from the process's log. Scripts import only what they need, so
a baseline is not charged for importing Dagster.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

RESULT_PREFIX = "BENCH_RESULT "
PACKAGE_DIR = Path(__file__).resolve().parent


def sql_file(*parts: str) -> str:
    """The text of a .sql file of this package (``sql_file("seed_elt", "05_insert_users.sql")``)."""
    return PACKAGE_DIR.joinpath(*parts).read_text()


def sql_statements(text: str) -> list[str]:
    """Split a script on ``;`` at line ends (the package's SQL files keep ``;`` out of literals
    and comments), dropping empty statements and comment-only ones."""
    statements = []
    for chunk in text.split(";\n"):
        body = "\n".join(
            line for line in chunk.splitlines() if not line.strip().startswith("--")
        ).strip()
        if body.rstrip(";").strip():
            statements.append(chunk.strip().rstrip(";"))
    return statements


def log_files(raw: Path, days: int | None = None) -> list[Path]:
    """The Sparkify log files (``sparkify/log_data/YYYY/MM/YYYY-MM-DD-events.json``), by day;
    only the first ``days`` days when given."""
    files = sorted((raw / "sparkify" / "log_data").rglob("*.json"), key=lambda p: p.name)
    return files[:days] if days is not None else files


def song_files(raw: Path) -> list[Path]:
    """Every song file (``sparkify/song_data/A/B/C/TR….json``), in key order."""
    root = raw / "sparkify" / "song_data"
    return sorted(root.rglob("*.json"), key=lambda p: p.relative_to(root).as_posix())


def count_lines(paths: Iterable[Path]) -> int:
    """Records (non-blank lines) in ``paths``."""
    total = 0
    for path in paths:
        with open(path, "rb") as fh:
            total += sum(1 for line in fh if line.strip())
    return total


class ChainedLines:
    """Several files read as one stream of lines (a newline added where a file lacks a final
    one): what a single COPY over a key prefix reads. ``read(size)`` is all psycopg2's
    ``copy_expert`` needs."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self._paths: Iterator[Path] = iter(paths)
        self._fh = None
        self._last = b"\n"
        self.bytes = 0

    def read(self, size: int = 65536) -> bytes:
        while True:
            if self._fh is None:
                path = next(self._paths, None)
                if path is None:
                    return b""
                self._fh = open(path, "rb")  # noqa: SIM115 - closed at its end or by close()
            data = self._fh.read(size)
            if data:
                self._last = data[-1:]
                self.bytes += len(data)
                return data
            self._fh.close()
            self._fh = None
            if self._last != b"\n":
                self._last = b"\n"
                return b"\n"


class Phases:
    """Wall seconds per named phase, for the result line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(
                self.seconds.get(name, 0.0) + time.perf_counter() - started, 4
            )


def emit_result(**fields) -> None:
    print(RESULT_PREFIX + json.dumps(fields, default=str), flush=True)


def read_result(log: Path) -> dict:
    """The ``BENCH_RESULT`` line of a finished script's log (empty when there is none)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in reversed(lines):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    return {}


def add_pg_arguments(parser) -> None:
    """Connection options of the PostgreSQL baselines (the password comes from PGPASSWORD)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5432)
    parser.add_argument("--user", default="postgres")
    parser.add_argument("--dbname", required=True)


def pg_connect(args):
    import os

    import psycopg2

    return psycopg2.connect(host=args.host, port=args.port, user=args.user, dbname=args.dbname,
                            password=os.environ.get("PGPASSWORD"))  # fmt: skip


def pg_row_counts(cur, tables: Iterable[str], schema: str = "public") -> dict[str, int]:
    counts = {}
    for table in tables:
        cur.execute(f'select count(*) from "{schema}"."{table}"')
        counts[table] = cur.fetchone()[0]
    return counts
