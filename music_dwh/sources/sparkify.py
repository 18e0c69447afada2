"""Sparkify (the streaming app): what it delivers into the raw store, and how.

::

    sparkify/log_data/YYYY/MM/YYYY-MM-DD-<name>.json     # one day of events, JSON lines
    sparkify/song_data/A/B/C/TR<…>.json                  # the song catalogue, replaced whole

A log key belongs to the day in its name, and only when its ``YYYY/MM`` folder agrees with
that name; anything else under the prefix (other names, hidden files, sub-folders, impossible
dates) is outside the layout: the sensors ignore it and ``music-dwh load`` does not load it.
"""

from __future__ import annotations

import datetime as dt
import re

SYSTEM = "sparkify"
PREFIX = f"{SYSTEM}/"
LOG_PREFIX = f"{PREFIX}log_data/"
SONG_PREFIX = f"{PREFIX}song_data/"
# Where the daily deliveries land (what a day's partition reads).
DAILY_PREFIX = LOG_PREFIX
# The staging tables of the snapshot deliveries a day's run reads (the song catalogue): when one
# is reloaded, a day whose latest run failed is requested again (automation/sensors.py).
SNAPSHOT_STAGING_TABLES: tuple[str, ...] = ("staging_songs",)

# UI text and names of what is generated per system (partitions.py, automation/).
TITLE = "Sparkify"
JOB_DESCRIPTION = (
    "Every Sparkify asset (log files and song catalogue → staging → star schema) "
    "and its checks, for a day or a range of days (one run)."
)
DAILY_SENSOR = "sparkify_log_sensor"
DAILY_SENSOR_DESCRIPTION = (
    "Loads each day whose Sparkify log file is new or re-delivered: one run per day."
)

# (JSON key, column, kind, required). Columns keep the seed's names, lower-cased as Redshift
# and PostgreSQL fold unquoted identifiers, so `select firstName from staging_events` works.
EVENT_FIELDS: list[tuple[str, str, str, bool]] = [
    ("artist", "artist", "str", False),
    ("auth", "auth", "str", True),
    ("firstName", "firstname", "str", False),
    ("gender", "gender", "str", False),
    ("itemInSession", "iteminsession", "int", True),
    ("lastName", "lastname", "str", False),
    ("length", "length", "float", False),
    ("level", "level", "str", True),
    ("location", "location", "str", False),
    ("method", "method", "str", False),
    ("page", "page", "str", True),
    ("registration", "registration", "float", False),
    ("sessionId", "sessionid", "int", True),
    ("song", "song", "str", False),
    ("status", "status", "int", False),
    ("ts", "ts", "int", True),
    ("userAgent", "useragent", "str", False),
    ("userId", "userid", "userid", False),
]
SONG_FIELDS: list[tuple[str, str, str, bool]] = [
    ("num_songs", "num_songs", "int", False),
    ("artist_id", "artist_id", "str", True),
    ("artist_latitude", "artist_latitude", "float", False),
    ("artist_location", "artist_location", "str", False),
    ("artist_longitude", "artist_longitude", "float", False),
    ("artist_name", "artist_name", "str", True),
    ("duration", "duration", "float", False),
    ("song_id", "song_id", "str", True),
    ("title", "title", "str", True),
    ("year", "year", "int", False),
]
# The song catalogue's key: a song_id seen twice is a conflict, the first in key order wins.
SONG_KEY = "song_id"

_LOG_KEY = re.compile(
    re.escape(LOG_PREFIX) + r"(\d{4})/(\d{2})/(\d{4})-(\d{2})-(\d{2})-[^/]*\.json"
)


def log_day_prefix(day: dt.date) -> str:
    """Every log key of ``day`` starts with this. The full date and the dash: 2018-11-1 must
    never match 2018-11-10."""
    return f"{LOG_PREFIX}{day:%Y/%m}/{day:%Y-%m-%d}-"


def key_for(day: dt.date, name: str = "events") -> str:
    """The raw-store key of one day of events (``…/2018/11/2018-11-01-events.json``)."""
    if not name or "/" in name:
        raise ValueError(f"{name!r} is not a log file name part")
    return f"{log_day_prefix(day)}{name}.json"


EXAMPLE_KEY = key_for(dt.date(2018, 11, 1))


def day_of(key: str) -> dt.date | None:
    """The day of a log key, or None when the key is not in the log layout."""
    m = _LOG_KEY.fullmatch(key)
    if not m or (m[1], m[2]) != (m[3], m[4]):  # the YYYY/MM folder must agree with the name
        return None
    try:
        return dt.date(int(m[3]), int(m[4]), int(m[5]))
    except ValueError:  # 2018-02-30
        return None


def song_key(track_id: str) -> str:
    """The raw-store key of one track file: ``A/B/C`` are the id's 3rd to 5th characters."""
    return f"{SONG_PREFIX}{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}.json"


def is_song_file(key: str) -> bool:
    """A file of the song catalogue: JSON under the prefix, no hidden file or folder."""
    return key.startswith(SONG_PREFIX) and key.endswith(".json") and "/." not in key
