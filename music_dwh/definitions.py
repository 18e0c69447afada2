"""The one Definitions of music_dwh: every asset, check, job, schedule, sensor and resource.

Importing this module does no work beyond reading the environment and the prepared dbt
manifest (``sql/target/manifest.json``, made by ``make install`` / ``music-dwh``).
"""

from dagster import Definitions, EnvVar, in_process_executor

from music_dwh.assets import chinook, reports, sparkify
from music_dwh.assets.dbt import DBT_ASSETS
from music_dwh.automation import alerts, jobs, schedules, sensors
from music_dwh.checks import chinook as chinook_checks
from music_dwh.checks import sparkify as sparkify_checks
from music_dwh.dbt_project import dbt_project
from music_dwh.resources.dbt_cli import DbtRunner
from music_dwh.resources.raw_store import RawStore
from music_dwh.resources.warehouse import PASSWORD_VARIABLE, Warehouse, configured_password
from music_dwh.settings import get_settings

_settings = get_settings()

# One line per source system: its raw and staging assets, its checks. Its dbt models, job,
# schedule and daily sensor are generated from SOURCE_SYSTEMS in settings.py.
SYSTEMS = [
    (sparkify.assets, sparkify_checks),
    (chinook.assets, chinook_checks),
]

defs = Definitions(
    assets=[
        *(a for assets, _ in SYSTEMS for a in assets),
        *(m for models in DBT_ASSETS.values() for m in models),
        *reports.assets,
    ],
    asset_checks=[c for _, checks in SYSTEMS for c in checks.checks],
    sensors=[
        *(checks.freshness_sensor for _, checks in SYSTEMS),
        *sensors.sensors,
        *alerts.sensors,
    ],
    jobs=jobs.jobs,
    schedules=schedules.schedules,
    resources={
        "raw_store": RawStore(
            location=_settings.raw,
            endpoint_url=_settings.aws_endpoint_url,
            region_name=_settings.aws_region,
        ),
        "warehouse": Warehouse(
            url=_settings.warehouse.url,
            # The password is optional: a Dagster EnvVar when set (resolved when a run starts,
            # never part of its config); unset, libpq authenticates on its own (trust or peer
            # authentication, PGPASSWORD, ~/.pgpass).
            password=EnvVar(PASSWORD_VARIABLE)
            if _settings.warehouse.engine != "duckdb" and configured_password()
            else None,
        ),
        # dbt in the run's process (dbt-core's dbtRunner), one `dbt build` per system and run.
        "dbt": DbtRunner(
            project_dir=str(dbt_project.project_dir),
            profiles_dir=str(dbt_project.profiles_dir),
        ),
    },
    # Steps of one run execute in the run's own process: no per-step subprocess (≈3 s each)
    # and no second process opening the DuckDB file. Runs still take the "duckdb" pool slot.
    executor=in_process_executor,
)
