"""Configuration in one place: every environment variable music_dwh reads, with its default.

Read lazily (``get_settings()``) so importing the package does no work; relative paths are
resolved against the working directory (the repo root for ``make`` targets and ``dagster dev``).
Documented in the README and ``.env.example``.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

REPO_ROOT = Path(__file__).resolve().parents[1]

# One line per source system: its name and the default first day of its daily partitions,
# overridden by MUSIC_DWH_<SYSTEM>_START.
SOURCE_SYSTEMS: dict[str, str] = {
    "sparkify": "2018-11-01",
    "chinook": "2021-01-01",
}


def start_variable(system: str) -> str:
    """The variable that moves a system's first partition day: ``MUSIC_DWH_SPARKIFY_START``."""
    return f"MUSIC_DWH_{system.upper()}_START"


DEFAULTS = {
    "MUSIC_DWH_RAW": "./data/raw",
    "MUSIC_DWH_WAREHOUSE": "duckdb:///data/warehouse.duckdb",
    **{start_variable(system): start for system, start in SOURCE_SYSTEMS.items()},
    "MUSIC_DWH_REPORTS": "./data/reports",
    "MUSIC_DWH_QUARANTINE_THRESHOLD": "0.05",
    "MUSIC_DWH_TIMEZONE": "UTC",
    # DuckDB's own default is 80 % of the machine's RAM, per process: the run and its dbt
    # subprocess could then claim 160 % between them. Past the limit DuckDB spills to disk.
    "MUSIC_DWH_DUCKDB_MEMORY_LIMIT": "1GB",
    # How long a run waits for another writer of the DuckDB file before it gives up.
    "MUSIC_DWH_LOCK_TIMEOUT": "10m",
    # Where the Dagster instance keeps runs, events and schedules (music_dwh/instance/storage.py):
    # SQLite files in DAGSTER_HOME, or a PostgreSQL database.
    "MUSIC_DWH_DAGSTER_STORAGE": "sqlite",
    # `music-dwh prune` keeps the runs (and their events) of this many days; older ones go,
    # except the events that are still the latest of a partition or check.
    "MUSIC_DWH_RUN_RETENTION_DAYS": "30",
    # How often the raw-store sensors look for new files (the daily ones: log days, invoice
    # days; and the alert sensors), and the snapshot ones (song catalogue, reference tables),
    # whose listing can be larger. Part of the file → star latency.
    "MUSIC_DWH_SENSOR_INTERVAL": "30s",
    "MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL": "120s",
}

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h)?$", re.IGNORECASE)
_MEMORY_LIMIT = re.compile(r"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)


class SettingsError(ValueError):
    """A configuration value that cannot be used; the message names the variable and the fix."""


@dataclass(frozen=True)
class WarehouseTarget:
    """What ``MUSIC_DWH_WAREHOUSE`` points at, parsed once."""

    url: str
    engine: str  # duckdb | postgres | redshift
    path: Path | None = None  # duckdb file
    host: str | None = None
    port: int | None = None
    user: str | None = None
    database: str | None = None

    @property
    def dbt_target(self) -> str:
        return self.engine

    def redacted(self) -> str:
        """The URL without any password, safe for logs and the UI."""
        if self.engine == "duckdb":
            return f"duckdb:///{self.path}"
        return f"{self.engine}://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_warehouse_url(url: str) -> WarehouseTarget:
    """``duckdb:///rel/or//abs.duckdb``, ``postgresql://user@host:port/db``, ``redshift://…``."""
    if url.startswith("duckdb://"):
        rest = url[len("duckdb://") :]
        # SQLAlchemy convention: duckdb:///relative.duckdb, duckdb:////absolute.duckdb
        rest = rest.removeprefix("/")
        if not rest:
            raise SettingsError(
                "MUSIC_DWH_WAREHOUSE=duckdb:/// needs a file path, e.g. duckdb:///data/warehouse.duckdb"
            )
        return WarehouseTarget(url=url, engine="duckdb", path=Path(rest).expanduser().resolve())
    parsed = urlparse(url)
    engines = {"postgresql": "postgres", "postgres": "postgres", "redshift": "redshift"}
    if parsed.password:  # first: no message below may repeat it
        raise SettingsError(
            "MUSIC_DWH_WAREHOUSE must not contain a password; put it in MUSIC_DWH_WAREHOUSE_PASSWORD, "
            "or leave it out when libpq finds it (PGPASSWORD, ~/.pgpass) or the server needs none"
        )
    if parsed.scheme not in engines:
        raise SettingsError(
            f"MUSIC_DWH_WAREHOUSE={url!r} is not a supported warehouse URL; use "
            "duckdb:///path.duckdb, postgresql://user@host:port/db or redshift://user@host:5439/db"
        )
    engine = engines[parsed.scheme]
    try:
        port = parsed.port
    except ValueError:
        raise SettingsError(
            f"MUSIC_DWH_WAREHOUSE={url!r} has no valid port; use a number from 1 to 65535, e.g. "
            f"{parsed.scheme}://user@host:{5439 if engine == 'redshift' else 5432}/db"
        ) from None
    return WarehouseTarget(
        url=url,
        engine=engine,
        host=parsed.hostname or "127.0.0.1",
        port=port or (5439 if engine == "redshift" else 5432),
        user=parsed.username or ("awsuser" if engine == "redshift" else "postgres"),
        database=(parsed.path or "/").lstrip("/")
        or ("dev" if engine == "redshift" else "postgres"),
    )


# The PostgreSQL instance storage's password: read from the environment when a connection opens.
INSTANCE_STORAGE_PASSWORD_VARIABLE = "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD"


@dataclass(frozen=True)
class InstanceStorage:
    """What ``MUSIC_DWH_DAGSTER_STORAGE`` selects for the Dagster instance's runs, events and
    schedules: ``sqlite`` (files in DAGSTER_HOME) or a PostgreSQL database. Never holds the
    password: that stays in ``MUSIC_DWH_DAGSTER_STORAGE_PASSWORD`` (or libpq's own sources)."""

    engine: str  # sqlite | postgres
    host: str | None = None
    port: int | None = None
    user: str | None = None
    database: str | None = None
    query: str = ""  # libpq options such as sslmode=require

    def sqlalchemy_url(self) -> str:
        """``postgresql+psycopg2://user@host:port/db``: what SQLAlchemy connects to (2.1 reads a
        bare ``postgresql://`` as psycopg 3, which is not installed)."""
        from urllib.parse import quote

        user, database = quote(self.user or "", safe=""), quote(self.database or "", safe="")
        url = f"postgresql+psycopg2://{user}@{self.host}:{self.port}/{database}"
        return f"{url}?{self.query}" if self.query else url

    def redacted(self) -> str:
        if self.engine == "sqlite":
            return "sqlite (DAGSTER_HOME)"
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.database}"


def parse_instance_storage(value: str) -> InstanceStorage:
    """``sqlite`` (the default) or ``postgresql://user@host:port/db`` (never with a password)."""
    value = value.strip()
    if value.lower() == "sqlite":
        return InstanceStorage(engine="sqlite")
    parsed = urlparse(value)
    if parsed.password:  # first: no message below may repeat it
        raise SettingsError(
            "MUSIC_DWH_DAGSTER_STORAGE must not contain a password; put it in "
            "MUSIC_DWH_DAGSTER_STORAGE_PASSWORD, or leave it out when libpq finds it (PGPASSWORD, "
            "~/.pgpass) or the server needs none"
        )
    if parsed.scheme not in ("postgresql", "postgres"):
        raise SettingsError(
            f"MUSIC_DWH_DAGSTER_STORAGE={value!r} is not a supported instance storage; use sqlite "
            "(files in DAGSTER_HOME, the default) or postgresql://user@host:port/db"
        )
    try:
        port = parsed.port
    except ValueError:
        raise SettingsError(
            f"MUSIC_DWH_DAGSTER_STORAGE={value!r} has no valid port; use a number from 1 to 65535, "
            "e.g. postgresql://dagster@host:5432/dagster"
        ) from None
    return InstanceStorage(
        engine="postgres",
        host=parsed.hostname or "127.0.0.1",
        port=port or 5432,
        user=parsed.username or "postgres",
        database=(parsed.path or "/").lstrip("/") or "postgres",
        query=parsed.query,
    )


def instance_storage(env: dict[str, str] | None = None) -> InstanceStorage:
    """Only ``MUSIC_DWH_DAGSTER_STORAGE``: what every process that opens the Dagster instance
    reads (the webserver and daemon too), so a mistake in an unrelated setting cannot stop them."""
    env = os.environ if env is None else env
    return parse_instance_storage(
        env.get("MUSIC_DWH_DAGSTER_STORAGE", "").strip() or DEFAULTS["MUSIC_DWH_DAGSTER_STORAGE"]
    )


def _duration(name: str, value: str) -> float:
    """``90`` or ``90s`` (seconds), ``10m``, ``1h``."""
    match = _DURATION.match(value.strip())
    if not match:
        raise SettingsError(f"{name}={value!r} is not a duration; use e.g. 600, 90s, 10m or 1h")
    number, unit = float(match.group(1)), (match.group(2) or "s").lower()
    return number * {"s": 1, "m": 60, "h": 3600}[unit]


_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


def parse_day(text: str) -> dt.date:
    """A ``YYYY-MM-DD`` day. A well-formed date that is not on the calendar says so
    (``2018-11-31 does not exist: November 2018 has 30 days``), not that it is malformed."""
    match = _DAY.fullmatch(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not a date; use YYYY-MM-DD")
    year, month, day = map(int, match.groups())
    if not 1 <= month <= 12:
        raise ValueError(f"{text} does not exist: a month is 01 to 12")
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        month_name = dt.date(year, month, 1).strftime("%B %Y")
        raise ValueError(f"{text} does not exist: {month_name} has {days_in_month} days")
    return dt.date(year, month, day)


def _date(name: str, value: str) -> dt.date:
    try:
        return parse_day(value)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def read_env_file(directory: Path | None = None) -> list[str]:
    """Apply ``.env`` in ``directory`` (default: the working directory) to ``os.environ`` the
    way ``dagster dev`` does, so the CLI, the UI and the daemon see the same settings: its
    values win over the environment. Returns the names it set (never the values: secrets)."""
    from dotenv import dotenv_values

    path = (directory or Path.cwd()) / ".env"
    if not path.is_file():
        return []
    values = {k: v for k, v in dotenv_values(path).items() if v is not None}
    os.environ.update(values)
    return sorted(values)


@dataclass(frozen=True)
class Settings:
    raw: str
    warehouse: WarehouseTarget
    starts: Mapping[str, dt.date]  # source system → first day of its daily partitions
    reports_dir: Path
    quarantine_threshold: float
    timezone: str
    aws_endpoint_url: str | None
    aws_region: str | None
    redshift_iam_role: str | None = None  # the role Redshift's COPY assumes to read S3
    # Alerts are POSTed here as JSON (logged when unset). A webhook URL often embeds a token:
    # kept out of repr() so it never reaches a log.
    alert_webhook: str | None = field(default=None, repr=False)
    ui_url: str = "http://127.0.0.1:3000"  # base of the run links in alerts
    duckdb_memory_limit: str = DEFAULTS["MUSIC_DWH_DUCKDB_MEMORY_LIMIT"]
    lock_timeout_seconds: float = 600.0
    # The Dagster instance's storage (runs, events, schedules); see music_dwh/instance/storage.py.
    dagster_storage: InstanceStorage = InstanceStorage(engine="sqlite")
    sensor_interval_seconds: int = 30
    snapshot_sensor_interval_seconds: int = 120
    run_retention_days: int = 30

    @property
    def sparkify_start(self) -> dt.date:
        return self.starts["sparkify"]

    @property
    def chinook_start(self) -> dt.date:
        return self.starts["chinook"]

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)

        def get(name: str) -> str:
            value = env.get(name, "").strip()
            return value or DEFAULTS[name]

        raw = get("MUSIC_DWH_RAW")
        if not raw.startswith("s3://"):
            raw = str(Path(raw).expanduser().resolve())
        try:
            threshold = float(get("MUSIC_DWH_QUARANTINE_THRESHOLD"))
        except ValueError as exc:
            raise SettingsError(
                "MUSIC_DWH_QUARANTINE_THRESHOLD must be a fraction such as 0.05"
            ) from exc
        if not 0 <= threshold <= 1:
            raise SettingsError(
                "MUSIC_DWH_QUARANTINE_THRESHOLD must be between 0 and 1 (0.05 = 5 %)"
            )
        memory_limit = get("MUSIC_DWH_DUCKDB_MEMORY_LIMIT")
        if not _MEMORY_LIMIT.match(memory_limit):
            raise SettingsError(
                f"MUSIC_DWH_DUCKDB_MEMORY_LIMIT={memory_limit!r} is not a size; use e.g. 1GB or 512MB"
            )
        lock_timeout = _duration("MUSIC_DWH_LOCK_TIMEOUT", get("MUSIC_DWH_LOCK_TIMEOUT"))
        intervals = {}
        for name in ("MUSIC_DWH_SENSOR_INTERVAL", "MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL"):
            seconds = _duration(name, get(name))
            if seconds < 1:
                raise SettingsError(f"{name} must be at least 1 second (e.g. 30s)")
            intervals[name] = round(seconds)
        retention = get("MUSIC_DWH_RUN_RETENTION_DAYS")
        if not retention.isdigit():
            raise SettingsError(
                f"MUSIC_DWH_RUN_RETENTION_DAYS={retention!r} is not a number of days; use a whole "
                "number such as 30 (0 keeps only what is still the latest)"
            )
        return cls(
            raw=raw,
            warehouse=parse_warehouse_url(get("MUSIC_DWH_WAREHOUSE")),
            starts={s: _date(start_variable(s), get(start_variable(s))) for s in SOURCE_SYSTEMS},
            reports_dir=Path(get("MUSIC_DWH_REPORTS")).expanduser().resolve(),
            quarantine_threshold=threshold,
            timezone=get("MUSIC_DWH_TIMEZONE"),
            aws_endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            redshift_iam_role=env.get("MUSIC_DWH_REDSHIFT_IAM_ROLE", "").strip() or None,
            alert_webhook=env.get("MUSIC_DWH_ALERT_WEBHOOK", "").strip() or None,
            ui_url=(env.get("MUSIC_DWH_UI_URL", "").strip() or "http://127.0.0.1:3000").rstrip("/"),
            duckdb_memory_limit=memory_limit,
            lock_timeout_seconds=lock_timeout,
            dagster_storage=instance_storage(env),
            sensor_interval_seconds=intervals["MUSIC_DWH_SENSOR_INTERVAL"],
            snapshot_sensor_interval_seconds=intervals["MUSIC_DWH_SNAPSHOT_SENSOR_INTERVAL"],
            run_retention_days=int(retention),
        )


def get_settings() -> Settings:
    """The current settings (re-read each call: cheap, and tests change the environment)."""
    return Settings.from_env()


@contextlib.contextmanager
def temporary_environ(set_: Mapping[str, str], unset: Sequence[str] = ()) -> Iterator[None]:
    """``os.environ`` with ``set_`` applied and ``unset`` removed for the block, then restored."""
    saved = {k: os.environ.get(k) for k in {*set_, *unset}}
    for key in unset:
        os.environ.pop(key, None)
    os.environ.update(set_)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
