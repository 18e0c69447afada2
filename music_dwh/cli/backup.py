"""``music-dwh backup`` and ``restore``: the DuckDB warehouse as Parquet files in a folder, and
back (``music_dwh/backup.py``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from music_dwh.cli.common import UserError, add_command, say
from music_dwh.settings import get_settings


def cmd_backup(args: argparse.Namespace) -> int:
    from music_dwh import backup

    settings = get_settings()
    say(f"Backing up {settings.warehouse.redacted()} into {args.to} …")
    try:
        summary = backup.backup(Path(args.to), settings.warehouse)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from None
    say(f"backup written to {summary.folder}: {summary.describe()}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from music_dwh import backup

    settings = get_settings()
    say(f"Restoring {settings.warehouse.redacted()} from {args.source} …")
    try:
        summary = backup.restore(Path(args.source), settings.warehouse, force=args.force)
    except backup.BackupError as exc:
        raise UserError(str(exc)) from None
    say(f"warehouse restored: {summary.describe()}")
    return 0


def add_commands(sub) -> None:
    bk = add_command(sub, "backup", "snapshot the DuckDB warehouse into a new folder (Parquet)")
    bk.add_argument("--to", required=True, metavar="DIR", help="a new (or empty) folder")
    bk.set_defaults(func=cmd_backup)
    rs = add_command(sub, "restore", "replace the DuckDB warehouse with a backup, atomically")
    rs.add_argument(
        "--from", dest="source", required=True, metavar="DIR", help="a folder made by backup"
    )
    rs.add_argument("--force", action="store_true", help="replace an existing warehouse file")
    rs.set_defaults(func=cmd_restore)
