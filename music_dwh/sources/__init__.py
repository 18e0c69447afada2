"""Each source system's contract, one module per system: the raw store's key layout (both ways:
``key_for`` a day, ``day_of`` a key, None for a key outside the layout), the record schemas,
keys, money columns and snapshot tables.

The lowest layer of the package: staging, assets, checks, sensors, the CLI and the data
generators import it; it imports nothing else of music_dwh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from types import ModuleType

from music_dwh.sources import chinook, sparkify

# One line per source system: its contract module.
SYSTEMS: dict[str, ModuleType] = {sparkify.SYSTEM: sparkify, chinook.SYSTEM: chinook}


def delivered_days(system: str, keys: Iterable[str]) -> list[dt.date]:
    """The days that ``keys`` (a listing of the system's ``DAILY_PREFIX``) deliver, sorted;
    keys outside the layout deliver none. What the sensors and ``music-dwh load`` both see."""
    day_of = SYSTEMS[system].day_of
    return sorted({d for d in map(day_of, keys) if d is not None})


def layout_problem(system: str, root: str, keys: Sequence[str] | None) -> str:
    """Why a raw store delivers no day of ``system``: what was found, and the layout expected.

    ``keys``: the store's listing (or its first part), None when the folder does not exist.
    Recognizes the usual mistakes: a store pointed one or two folders too deep, and day files
    outside their dated folders (a flat layout)."""
    contract = SYSTEMS[system]
    root = root.rstrip("/")
    expected = f"expected one file per day like {root}/{contract.EXAMPLE_KEY}"
    if keys is None:
        return f"{root} does not exist ({expected})"
    if not keys:
        return f"{root} is empty ({expected})"
    # The folders of the layout above a day's file, outermost first: sparkify/, sparkify/log_data/.
    parts = contract.DAILY_PREFIX.rstrip("/").split("/")
    above = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
    for key in keys:
        for missing in above:
            if contract.day_of(missing + key) is not None:
                parent = root.rsplit("/", missing.count("/"))[0]
                return (
                    f"{root} is a folder inside the layout: {key} belongs at "
                    f"{parent}/{missing}{key}; set MUSIC_DWH_RAW={parent}"
                )
    for prefix in reversed(above):
        inside = [k for k in keys if k.startswith(prefix)]
        if inside:
            return (
                f"{len(inside):,} file(s) under {root}/{prefix} but none in dated folders, "
                f"e.g. {inside[0]} ({expected})"
            )
    return f"nothing under {root}/{contract.PREFIX}, only e.g. {keys[0]} ({expected})"
