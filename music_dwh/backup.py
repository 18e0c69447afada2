"""Backup and restore of the embedded DuckDB warehouse (``music-dwh backup`` / ``restore``).

A backup is a folder written by DuckDB's ``EXPORT DATABASE … (FORMAT parquet)``: ``schema.sql``,
``load.sql`` and one Parquet file per table, plus ``music_dwh_backup.json`` (when, from where,
the DuckDB version and every table's row count). It is written beside its destination and
renamed into place, so a folder that exists is a complete backup.

A restore imports the backup into a new file beside the warehouse (``IMPORT DATABASE``), checks
every table's row count against the backup's record, then swaps the file in with one rename: a
failure leaves the current warehouse untouched. Replacing an existing warehouse needs
``force=True`` (``--force``).

Only DuckDB: a PostgreSQL warehouse is backed up with ``pg_dump``/``pg_restore`` (or the
provider's snapshots and point-in-time recovery), Redshift with its automated and manual
cluster snapshots. On any engine the warehouse can also be rebuilt from the raw store with
``music-dwh load all``: the raw files are the system of record.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from music_dwh.settings import WarehouseTarget, get_settings

MANIFEST = "music_dwh_backup.json"


class BackupError(Exception):
    """A backup or restore that cannot proceed; the message says why and what to do."""


@dataclass(frozen=True)
class BackupSummary:
    folder: Path
    tables: dict[str, int]
    seconds: float

    def describe(self) -> str:
        rows = sum(self.tables.values())
        return f"{len(self.tables)} tables, {rows:,} rows ({self.seconds:.1f} s)"


def _duckdb_path(target: WarehouseTarget | None) -> Path:
    target = target or get_settings().warehouse
    if target.engine != "duckdb":
        tool = {
            "postgres": "pg_dump / pg_restore (or your provider's snapshots and point-in-time recovery)",
            "redshift": "Redshift's automated or manual cluster snapshots (restore-from-snapshot)",
        }.get(target.engine, "your database's own backup tools")
        raise BackupError(
            f"music-dwh backup/restore handles the embedded DuckDB warehouse only; "
            f"MUSIC_DWH_WAREHOUSE is {target.redacted()}: use {tool}. "
            "Any warehouse can also be rebuilt from the raw store with `music-dwh load all`."
        )
    assert target.path is not None
    return target.path


def _exclusive(path: Path, command: str):
    """Hold the warehouse's writer lock (``resources/writer_lock.py``): a running load
    finishes first, and no run starts while the file is exported or replaced."""
    from music_dwh.resources.writer_lock import exclusive_writer

    return exclusive_writer(
        path,
        timeout=get_settings().lock_timeout_seconds,
        say=lambda m: print(m, flush=True),
        command=command,
    )


def _connect(path: Path, read_only: bool):
    """Open the DuckDB file, waiting up to MUSIC_DWH_LOCK_TIMEOUT for another program to
    release it."""
    import duckdb

    from music_dwh.resources.duckdb import connection_config

    deadline = time.monotonic() + get_settings().lock_timeout_seconds
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only, config=connection_config())
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise BackupError(
                    f"cannot open the DuckDB warehouse {path}: {exc}. Another process (a Dagster "
                    "run, a notebook) holds it; retry when it has finished."
                ) from exc
            time.sleep(0.5)


def backup(to: Path, target: WarehouseTarget | None = None) -> BackupSummary:
    """Export the DuckDB warehouse into the new folder ``to`` (which must not exist or be empty)."""
    with _exclusive(_duckdb_path(target), "music-dwh backup"):
        return _backup(to, target)


def _backup(to: Path, target: WarehouseTarget | None) -> BackupSummary:
    import duckdb

    from music_dwh.resources.duckdb import export_database, table_counts

    source = _duckdb_path(target)
    if not source.exists():
        raise BackupError(f"there is no DuckDB warehouse at {source} to back up")
    to = to.expanduser().resolve()
    if to.exists() and (not to.is_dir() or any(to.iterdir())):
        raise BackupError(f"{to} already exists and is not an empty folder; choose a new folder")
    to.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f".{to.name}.partial-", dir=to.parent))
    try:
        export_dir = scratch / "export"
        con = _connect(source, read_only=True)
        try:
            tables = table_counts(con)
            export_database(con, export_dir)
        except duckdb.Error as exc:
            raise BackupError(f"cannot export {source}: {exc}") from exc
        finally:
            con.close()
        (export_dir / MANIFEST).write_text(
            json.dumps(
                {
                    "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "source": str(source),
                    "duckdb_version": duckdb.__version__,
                    "format": "duckdb EXPORT DATABASE (FORMAT parquet)",
                    "tables": tables,
                },
                indent=2,
                sort_keys=True,
            )
        )
        if to.exists():
            to.rmdir()  # empty, checked above
        os.replace(export_dir, to)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return BackupSummary(to, tables, time.monotonic() - started)


def read_manifest(folder: Path) -> dict:
    folder = folder.expanduser().resolve()
    manifest = folder / MANIFEST
    if not manifest.is_file() or not (folder / "schema.sql").is_file():
        raise BackupError(f"{folder} is not a music-dwh backup (no {MANIFEST} and schema.sql)")
    return json.loads(manifest.read_text())


def restore(
    source: Path, target: WarehouseTarget | None = None, force: bool = False
) -> BackupSummary:
    """Replace the DuckDB warehouse with the backup in ``source``, atomically."""
    with _exclusive(_duckdb_path(target), "music-dwh restore"):
        return _restore(source, target, force)


def _restore(source: Path, target: WarehouseTarget | None, force: bool) -> BackupSummary:
    import duckdb

    from music_dwh.resources.duckdb import import_database, table_counts

    dest = _duckdb_path(target)
    source = source.expanduser().resolve()
    expected = read_manifest(source)["tables"]
    if dest.exists() and not force:
        raise BackupError(
            f"the warehouse {dest} already exists; pass --force to replace it with the backup "
            f"(a backup of the current one first: music-dwh backup --to DIR)"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix=f".{dest.name}.restore-", dir=dest.parent))
    try:
        # Same file name as the warehouse, so the catalog name views may use is the same.
        staged = scratch / dest.name
        con = _connect(staged, read_only=False)
        try:
            import_database(con, source)
            restored = table_counts(con)
            con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            raise BackupError(
                f"cannot import the backup {source}: {exc}; the warehouse was left unchanged"
            ) from exc
        finally:
            con.close()
        if restored != expected:
            differ = sorted(
                t for t in set(restored) | set(expected) if restored.get(t) != expected.get(t)
            )
            raise BackupError(
                f"the restored tables do not match the backup's record ({', '.join(differ[:10])}); "
                "the warehouse was left unchanged"
            )
        if dest.exists():
            # Take the lock (waits for a running load) and fold any write-ahead log into the
            # file, so no stale .wal is replayed into the restored database after the swap.
            con = _connect(dest, read_only=False)
            try:
                con.execute("CHECKPOINT")
            finally:
                con.close()
        os.replace(staged, dest)
        wal = dest.with_name(dest.name + ".wal")
        if wal.exists():
            wal.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return BackupSummary(dest, restored, time.monotonic() - started)
