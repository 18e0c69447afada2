"""What every asset and check is labelled with, in one neutral module: the warehouse pool, the
warehouse kind, and the layer tags (``layer``, ``source_system``) that the sensors, the
``music-dwh load --through`` selection and the UI read."""

from __future__ import annotations

from music_dwh.settings import get_settings

_engine = get_settings().warehouse.engine
# DuckDB allows one writer process: every run on DuckDB holds the warehouse's writer lock
# (resources/writer_lock.py). Every asset that writes the file is also in this pool, so the
# daemon's queue launches one such run at a time (dagster.yaml: default limit 1, run
# granularity) instead of starting runs that would only wait for the lock. Servers need neither.
WAREHOUSE_POOL = "duckdb" if _engine == "duckdb" else None
WAREHOUSE_KIND = _engine

# On every run: the warehouse it wrote (its URL without credentials), shown with the run in the
# UI, since one instance may have seen runs against several warehouses.
WAREHOUSE_TAG = "music_dwh/warehouse"

LAYER_TAG = "layer"
SOURCE_SYSTEM_TAG = "source_system"
# Bottom to top: what `music-dwh load --through` stops after.
LAYERS = ("raw", "staging", "star", "mart", "report")


def layer_tags(layer: str, system: str) -> dict[str, str]:
    """The tags of an asset of ``layer`` built for source ``system``."""
    if layer not in LAYERS:
        raise ValueError(f"{layer!r} is not a layer ({', '.join(LAYERS)})")
    return {LAYER_TAG: layer, SOURCE_SYSTEM_TAG: system}
