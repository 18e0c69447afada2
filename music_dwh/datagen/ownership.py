"""The sample-data writers never delete or overwrite a file they did not write.

Each writer (``generate sparkify``, ``generate chinook``, ``export-chinook``) owns prefixes of
the raw store, its *scope*, and records in a manifest (``_manifests/<command>.json``) every key
it wrote, with the size and version the store reported right after writing. Before writing
anything it lists its scope: a file missing from its manifest, or whose size or version changed
since (edited by someone), is not its own. Then:

* without ``force`` any such file stops it before it changes anything (:class:`ForeignFilesError`
  names how many and the first few keys);
* with ``force`` it writes its files over any at the same keys and leaves every other one alone;
* either way, files of its own previous output that the new run does not write (fewer days) are
  removed, if still unchanged, and the manifest then lists exactly the new run's files.

A run that fails or is interrupted still records what it wrote, with its earlier files, so the
next run recognises them. The manifests live outside every source's prefix (``sparkify/``,
``chinook/``): no sensor, raw asset, listing or reconciliation reads there.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from music_dwh.resources.raw_store import RawObject, RawStore, RawStoreError

MANIFEST_PREFIX = "_manifests/"
# Marks a manifest as one of ours: anything else at its key counts as someone's file.
MANIFEST_FORMAT = "music_dwh written files 1"
# How many of the files in the way a refusal names.
SHOWN_KEYS = 3
WHAT_TO_DO = (
    "Choose another --out, or add --force to write its files over any at the same keys "
    "(files it does not write are never removed)"
)


@dataclass(frozen=True)
class Writer:
    """A command that writes sample data, and the prefixes of the raw store it owns."""

    command: str  # as typed after ``music-dwh``: names it in messages and its manifest
    scope: tuple[str, ...]

    @property
    def manifest_key(self) -> str:
        return f"{MANIFEST_PREFIX}{self.command.replace(' ', '-')}.json"


class ForeignFilesError(RawStoreError):
    """The target holds files the writer did not write; nothing was changed."""


@dataclass
class Survey:
    """A writer's scope in a store: its own unchanged files, and every other key."""

    own: dict[str, RawObject]
    foreign: list[str]


def read_manifest(store: RawStore, writer: Writer) -> dict[str, RawObject] | None:
    """The files ``writer`` recorded (empty without a manifest); None when something else
    than its manifest sits at the manifest's key."""
    if not store.exists(writer.manifest_key):
        return {}
    try:
        data = json.loads(store.read_bytes(writer.manifest_key))
        if data.get("format") != MANIFEST_FORMAT or data.get("written_by") != writer.command:
            return None
        return {
            key: RawObject(key, int(entry["size"]), str(entry["version"]))
            for key, entry in data["files"].items()
        }
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def survey(store: RawStore, writer: Writer) -> Survey:
    recorded = read_manifest(store, writer)
    foreign = [] if recorded is not None else [writer.manifest_key]
    own: dict[str, RawObject] = {}
    for prefix in writer.scope:
        for obj in store.list(prefix):
            if recorded and recorded.get(obj.key) == obj:
                own[obj.key] = obj
            else:
                foreign.append(obj.key)
    return Survey(own, foreign)


def refusal(
    store: RawStore, who: str, foreign: Sequence[str], what_to_do: str = WHAT_TO_DO
) -> ForeignFilesError:
    """One line: where, how many files are in the way, the first few, and what to do."""
    shown = ", ".join(foreign[:SHOWN_KEYS])
    more = f" and {len(foreign) - SHOWN_KEYS:,} more" if len(foreign) > SHOWN_KEYS else ""
    files = "1 file" if len(foreign) == 1 else f"{len(foreign):,} files"
    return ForeignFilesError(
        f"{store.describe()} holds {files} that {who} did not write ({shown}{more}); "
        f"nothing was changed. {what_to_do}"
    )


@dataclass
class Output:
    """One run of a writer: what is written through it is recorded for its manifest."""

    store: RawStore
    writer: Writer
    previous: dict[str, RawObject]  # its own files from earlier runs, unchanged
    written: dict[str, RawObject] = field(default_factory=dict)
    removed: int = 0  # files of the previous output this run did not write again
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def uri(self, key: str) -> str:
        return self.store.uri(key)

    @contextlib.contextmanager
    def open_write(self, key: str) -> Iterator[IO[bytes]]:
        with self.store.open_write(key, written=self._record) as fh:
            yield fh

    def _record(self, obj: RawObject) -> None:
        with self._lock:  # song files are written from several threads
            self.written[obj.key] = obj

    def remove_stale(self) -> None:
        """Remove its previous files this run did not write again, if nobody changed them."""
        stale = {k: o for k, o in self.previous.items() if k not in self.written}
        if not stale:
            return
        unchanged = [
            obj.key
            for prefix in self.writer.scope
            for obj in self.store.list(prefix)
            if stale.get(obj.key) == obj
        ]
        self.removed = self.store.delete_keys(unchanged)

    def save(self, files: dict[str, RawObject]) -> None:
        manifest = {
            "format": MANIFEST_FORMAT,
            "written_by": self.writer.command,
            "files": {k: {"size": o.size, "version": o.version} for k, o in sorted(files.items())},
        }
        self.store.write_bytes(self.writer.manifest_key, json.dumps(manifest, indent=1).encode())


@contextlib.contextmanager
def writing(store: RawStore, writer: Writer, force: bool = False) -> Iterator[Output]:
    """Write ``writer``'s output into ``store`` through the yielded :class:`Output`.

    Refuses (:class:`ForeignFilesError`, before any change) when its scope holds a file it did
    not write, unless ``force``. On success its stale previous files are removed and the
    manifest lists exactly what this run wrote."""
    found = survey(store, writer)
    if found.foreign and not force:
        raise refusal(store, f"music-dwh {writer.command}", found.foreign)
    out = Output(store, writer, found.own)
    try:
        yield out
        out.remove_stale()
    except BaseException:
        # Whatever stopped the run is what to report; the manifest is best effort here.
        with contextlib.suppress(Exception):
            out.save({**found.own, **out.written})
        raise
    out.save(out.written)


def remove_written(store: RawStore, writer: Writer) -> int:
    """Remove ``writer``'s own unchanged files and its manifest; returns how many files went.
    The files in its scope it did not write, or that changed since, stay."""
    found = survey(store, writer)
    removed = store.delete_keys(sorted(found.own))
    if writer.manifest_key not in found.foreign:
        store.delete_keys([writer.manifest_key])
    return removed
