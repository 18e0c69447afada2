"""Each source system's contract, one module per system: the raw store's key layout (both ways:
``key_for`` a day, ``day_of`` a key, None for a key outside the layout), the record schemas,
keys, money columns and snapshot tables.

The lowest layer of the package: staging, assets, checks, sensors, the CLI and the data
generators import it; it imports nothing else of music_dwh.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from types import ModuleType

from music_dwh.sources import chinook, sparkify

# One line per source system: its contract module.
SYSTEMS: dict[str, ModuleType] = {sparkify.SYSTEM: sparkify, chinook.SYSTEM: chinook}


def delivered_days(system: str, keys: Iterable[str]) -> list[dt.date]:
    """The days that ``keys`` (a listing of the system's ``DAILY_PREFIX``) deliver, sorted;
    keys outside the layout deliver none. What the sensors and ``music-dwh load`` both see."""
    day_of = SYSTEMS[system].day_of
    return sorted({d for d in map(day_of, keys) if d is not None})
