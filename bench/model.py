"""What ``music-dwh bench`` measures and reports: the approaches, the targets, the options
(:class:`BenchConfig`) and the results (:class:`Report` and its parts), shared by the runner,
the report and the orchestration-cost part; plus the bench's log line and error."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from music_dwh.settings import REPO_ROOT

DEFAULT_DAYS = 30
DEFAULT_EVENTS_PER_DAY = 27_000
DEFAULT_SONGS = 7_100
DEFAULT_START = dt.date(2018, 11, 1)
DEFAULT_OUT = REPO_ROOT / "bench" / "results.md"
DEFAULT_INCREMENTAL_LOADED = (1, 30, 300)
DEFAULT_INCREMENTAL_EVENTS_PER_DAY = 2_000
QUERY_RUNS = 5
STAR_TABLES = ("songplays", "users", "songs", "artists", "time")

# Targets (never weakened; see the README's benchmark section).
TARGET_SPEEDUP_OVER_ROW_BY_ROW = 50.0
TARGET_MAX_TIMES_ONE_SHOT = 3.0  # at default scale
TARGET_MAX_TIMES_ONE_SHOT_AT_10X = 2.0  # at --scale 10 and above (≈8M events)
TARGET_MAX_INCREMENTAL_RATIO = 1.5
TARGET_MAX_STORAGE_SHARE = 0.25
TARGET_MAX_PEAK_AT_10X = 2 * 1024**3
SCALE_RUN_EVENTS = 10 * DEFAULT_DAYS * DEFAULT_EVENTS_PER_DAY

APPROACHES: dict[str, str] = {
    "floor": "Floor: DuckDB `count(*)` over the raw log files",
    "reader": "Reader: DuckDB loads the raw log files into a table, nothing judged (`reader.sql`)",
    "oneshot": "One-shot DuckDB script (`one_shot.sql`)",
    "duckdb": "**music_dwh on DuckDB** (`music-dwh load sparkify`)",
    "duckdb-star": (
        "music_dwh on DuckDB up to the star schema (`music-dwh load sparkify --through star`)"
    ),
    "duckdb-staging": (
        "music_dwh on DuckDB up to staging, checks included "
        "(`music-dwh load sparkify --through staging`)"
    ),
    "postgres": "**music_dwh on PostgreSQL** (`music-dwh load sparkify`)",
    "seed-elt": "Baseline: seeds' ELT on PostgreSQL (COPY + INSERT … SELECT)",
    "row-by-row": "Baseline: row-by-row ETL on PostgreSQL (pandas, iterrows, execute per row)",
}
POSTGRES_APPROACHES = ("postgres", "seed-elt", "row-by-row")


class BenchError(RuntimeError):
    """The benchmark cannot run as asked (printed without a traceback)."""


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------- configuration
@dataclass
class BenchConfig:
    days: int
    events_per_day: int
    songs: int
    seed: int
    scale: float
    approaches: list[str]
    repeat: int
    out: Path
    skip_incremental: bool
    skip_queries: bool
    row_by_row_days: int
    incremental_loaded: list[int]
    incremental_events_per_day: int
    workdir: Path | None
    keep: bool
    command: str = ""
    # the orchestration-cost part (orchestration.py); defaults are its options'
    spread_events: int = 0
    spread_days: tuple[int, int] = (0, 0)
    skip_spread: bool = False
    chinook_sqlite: Path | None = None
    skip_chinook: bool = False

    @property
    def start(self) -> dt.date:
        return DEFAULT_START


# ---------------------------------------------------------------------------- results
@dataclass
class Run:
    wall_s: float
    cpu_s: float
    peak_rss: int
    server_peak_pss: int | None
    ok: bool
    detail: dict = field(default_factory=dict)
    error: str = ""


@dataclass
class ApproachResult:
    name: str
    events: int  # events this approach processed per run
    runs: list[Run] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    matched_plays: int | None = None
    seconds_per_event: float | None = None  # effective (row-by-row: scaled to the full dataset)
    note: str = ""
    profile: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.runs) and all(r.ok for r in self.runs)

    @property
    def walls(self) -> list[float]:
        return [r.wall_s for r in self.runs if r.ok]

    @property
    def median_wall(self) -> float | None:
        return statistics.median(self.walls) if self.walls else None

    @property
    def median_cpu(self) -> float | None:
        cpus = [r.cpu_s for r in self.runs if r.ok]
        return statistics.median(cpus) if cpus else None

    @property
    def peak_rss(self) -> int | None:
        return max((r.peak_rss for r in self.runs), default=None)

    @property
    def server_peak(self) -> int | None:
        peaks = [r.server_peak_pss for r in self.runs if r.server_peak_pss is not None]
        return max(peaks) if peaks else None


@dataclass
class Dataset:
    raw: Path
    days: int
    events_per_day: int
    events: int
    plays: int
    songs: int
    users: int
    log_bytes: int
    song_bytes: int
    generate_s: float
    first_day: dt.date
    last_day: dt.date

    @property
    def raw_json_bytes(self) -> int:
        return self.log_bytes + self.song_bytes


@dataclass
class IncrementalPoint:
    loaded_days: int
    day: str
    walls: list[float]
    peak_rss: int
    setup_s: float | None  # the untimed backfill that brought the warehouse to loaded_days
    profile: dict = field(default_factory=dict)  # the first (new-day) run's, see pipeline_profile

    @property
    def median(self) -> float:
        return statistics.median(self.walls)


@dataclass
class Report:
    config: BenchConfig
    machine: dict
    dataset: Dataset | None = None
    approaches: dict[str, ApproachResult] = field(default_factory=dict)
    incremental: list[IncrementalPoint] = field(default_factory=list)
    incremental_info: dict = field(default_factory=dict)
    storage: dict = field(default_factory=dict)
    queries: dict[str, dict[str, dict]] = field(default_factory=dict)
    consistency: dict = field(default_factory=dict)
    orchestration: object | None = None  # orchestration.Orchestration
    notes: list[str] = field(default_factory=list)
    started: str = ""
    finished: str = ""
    failures: list[str] = field(default_factory=list)


def safe(fn: Callable, default):
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - a profile or a comparison must never sink the benchmark
        say(f"  (skipped: {type(exc).__name__}: {exc})")
        return default
