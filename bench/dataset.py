"""The bench's data: Sparkify files from the project's generator, and what they hold."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from bench.model import DEFAULT_START, Dataset


def _tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.json")) if root.exists() else 0


def generate(raw: Path, days: int, events_per_day: int, songs: int, seed: int) -> Dataset:
    from music_dwh.datagen.sparkify import generate_sparkify
    from music_dwh.resources.raw_store import open_raw_store

    raw.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    summary = generate_sparkify(
        open_raw_store(str(raw)),
        start=DEFAULT_START,
        days=days,
        events_per_day=events_per_day,
        songs=songs,
        seed=seed,
    )
    elapsed = time.perf_counter() - started
    return Dataset(
        raw=raw,
        days=days,
        events_per_day=events_per_day,
        events=summary.events,
        plays=summary.plays,
        songs=summary.songs,
        users=summary.users,
        log_bytes=_tree_bytes(raw / "sparkify" / "log_data"),
        song_bytes=_tree_bytes(raw / "sparkify" / "song_data"),
        generate_s=elapsed,
        first_day=DEFAULT_START,
        last_day=DEFAULT_START + dt.timedelta(days=days - 1),
    )
