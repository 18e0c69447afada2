"""The Dagster instance music_dwh ships: where runs, events and schedules are stored, and how
cheaply.

The shipped ``dagster.yaml`` names :class:`MusicDwhInstance` (``instance_class``). Dagster asks
that class for the instance's default storage with the instance's own directory
(``config_defaults(base_dir)``), which is how the choice below works for any DAGSTER_HOME the
file is copied into, with no path written in the file. The choice is made where the instance
is first opened (``music-dwh``, ``dagster dev``, the daemon) and travels to run processes in
Dagster's instance reference:

* ``MUSIC_DWH_DAGSTER_STORAGE=sqlite`` (the default): Dagster's SQLite files under DAGSTER_HOME,
  written more cheaply (``sqlite_storage``).
* ``MUSIC_DWH_DAGSTER_STORAGE=postgresql://user@host:port/db``: dagster-postgres' storage in
  that database, the password never in the URL or the instance's config (``postgres_storage``).

Either way batches of events are written in one go (``batches``): this instance turns Dagster's
event batching on.

A ``storage:`` section in a hand-written ``dagster.yaml`` still wins over all of this.
"""

from __future__ import annotations

import os

import yaml
from dagster import DagsterInstance

from music_dwh.framework import (
    LEGACY_STORAGE_CLASSES,
    LEGACY_STORAGE_MODULE,
    ConfigurableClassData,
    InstanceRef,
)
from music_dwh.instance.batches import EVENT_BATCH_SIZE
from music_dwh.settings import instance_storage


class MusicDwhInstance(DagsterInstance):
    """Dagster's instance with music_dwh's storage defaults (see the module docstring)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}  # no settings of its own in dagster.yaml: storage follows the environment

    @staticmethod
    def config_defaults(base_dir: str) -> dict[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        storage = storage_class_data(base_dir)
        defaults["storage"] = storage
        # The separate run/event/schedule entries are only read when there is no unified
        # storage; point them at it anyway, as Dagster does for a custom storage.
        wrapped = yaml.dump(
            {
                "module_name": storage.module_name,
                "class_name": storage.class_name,
                "config_yaml": storage.config_yaml,
            },
            default_flow_style=False,
        )
        keys = ("run_storage", "event_log_storage", "schedule_storage")
        for key, cls in zip(keys, LEGACY_STORAGE_CLASSES, strict=True):
            defaults[key] = ConfigurableClassData(LEGACY_STORAGE_MODULE, cls, wrapped)
        return defaults

    def _get_event_batch_size(self) -> int:
        value = os.getenv("DAGSTER_EVENT_BATCH_SIZE", "").strip()
        return int(value) if value else EVENT_BATCH_SIZE


def storage_class_data(base_dir: str) -> ConfigurableClassData:
    """The storage ``MUSIC_DWH_DAGSTER_STORAGE`` selects, as Dagster's class reference. Its
    config holds the database URL without a password (it travels to run processes)."""
    target = instance_storage()
    if target.engine == "postgres":
        from music_dwh.instance.postgres_storage import PostgresStorage as storage

        config = {"postgres_url": target.sqlalchemy_url()}
    else:
        from music_dwh.instance.sqlite_storage import SqliteStorage as storage

        config = {"base_dir": base_dir}
    return ConfigurableClassData(
        storage.__module__, storage.__name__, yaml.dump(config, default_flow_style=False)
    )
