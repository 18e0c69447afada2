"""Raw stores holding data no writer wrote there, as the tests of the "never delete or
overwrite what it did not write" rule need them (music_dwh_tests/datagen/test_ownership.py,
music_dwh_tests/cli/test_sample_data.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from music_dwh.datagen import chinook, chinook_export, ownership, sparkify
from music_dwh.resources.raw_store import RawStore, open_raw_store
from music_dwh.sources import chinook as chinook_source
from music_dwh_tests import conftest
from music_dwh_tests.conftest import require_shared

# A user's own notes, in the folders the writers write.
NOTES = {
    "sparkify/NOTES.txt": b"my own notes on the November logs\n",
    "chinook/NOTES.txt": b"do not delete: reconciled with finance\n",
}
START = dt.date(2018, 11, 1)
CHINOOK_START = dt.date(2021, 1, 1)


# ---------------------------------------------------------------------------- helpers
def listing(store: RawStore) -> dict[str, tuple[int, bytes]]:
    """Every file of the store with its size and content."""
    objects = list(store.list(""))
    contents = store.read_many([o.key for o in objects])
    return {o.key: (o.size, data) for o, data in zip(objects, contents, strict=True)}


def put(store: RawStore, files: dict[str, bytes]) -> None:
    """Write ``files`` (on S3 each is a request: a few at a time)."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda item: store.write_bytes(*item), files.items()))


def copy_tree(store: RawStore, folder: Path, prefix: str) -> None:
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    put(store, {prefix + p.relative_to(folder).as_posix(): p.read_bytes() for p in paths})


def copy_store(source: RawStore, target: RawStore, prefixes: tuple[str, ...]) -> None:
    """The files under ``prefixes``, as a user copies data around: without any manifest."""
    keys = [o.key for prefix in prefixes for o in source.list(prefix)]
    put(target, dict(zip(keys, source.read_many(keys), strict=True)))


def chinook_db() -> Path:
    return require_shared("chinook", "Chinook_Sqlite.sqlite")


def generate_sparkify(store: RawStore, force: bool = False, days: int = 3, seed: int = 42, **kw):
    return sparkify.generate_sparkify(
        store, START, days=days, events_per_day=60, songs=20, seed=seed, force=force, **kw
    )


def generate_chinook(store: RawStore, force: bool = False, days: int = 4, seed: int = 42, **kw):
    return chinook.generate_chinook(
        store,
        CHINOOK_START,
        days=days,
        customers=5,
        invoices_per_day=3,
        seed=seed,
        force=force,
        **kw,
    )


def export_chinook(store: RawStore, force: bool = False):
    return chinook_export.export_chinook(chinook_db(), store, force=force)


WRITERS: dict[str, tuple[ownership.Writer, Callable]] = {
    "generate sparkify": (sparkify.WRITER, generate_sparkify),
    "generate chinook": (chinook.WRITER, generate_chinook),
    "export-chinook": (chinook_export.WRITER, export_chinook),
}


def fill_with_foreign_data(store: RawStore, kind: str, scratch: Path) -> None:
    """Data nobody ran a writer for in this store, plus the user's notes: the public samples
    (Sparkify copied as published, Chinook exported elsewhere and copied in), or a small
    generated dataset of another seed copied in (needs no ../shared)."""
    source = open_raw_store(str(scratch))
    if kind == "sample":
        copy_tree(store, require_shared("sparkify"), "sparkify/")
        chinook_export.export_chinook(chinook_db(), source)
    else:
        generate_sparkify(source, seed=7, days=2)
        generate_chinook(source, seed=7, days=2)
    copy_store(source, store, (*sparkify.WRITER.scope, chinook_source.PREFIX))
    for key, data in NOTES.items():
        store.write_bytes(key, data)


def writers_to_try() -> list[str]:
    """Every writer; the export only where the public Chinook database is."""
    have_db = (conftest.SHARED_DATA / "chinook" / "Chinook_Sqlite.sqlite").is_file()
    return [c for c in WRITERS if have_db or c != "export-chinook"]
