"""Sparkify raw files → staging rows: parsing, validation, repair and quarantine.

Rules (documented in the README's data-quality section):

* A raw record is one non-blank line of a log or song file. Blank lines are not records.
* A UTF-8 byte-order mark at the start of a file is ignored.
* Each record becomes a staging row or a quarantine row with its reason, never both, never neither.
* Event timestamps must fall inside the day the file is named for; an event from another day is
  quarantined (the file is the unit of delivery: re-running its own day would otherwise
  delete or double it).
* A missing log file for a day is an empty partition (a warning in the metadata), not a failure:
  the freshness check reports late days.
* Text fields double-encoded as UTF-8 (``BjÃ\\x83Â¶rk``) are repaired with ``ftfy.fix_encoding``;
  the number of repaired values is reported.
* Every numeric field has a physical range (``EVENT_BOUNDS``, ``SONG_BOUNDS``): a record with a
  value no real event or song can have (a length of 1e308, a year 20000, a latitude of 95) is
  quarantined naming the field, the value and the accepted range.
* Exact duplicate records (byte-identical event lines; song records equal as JSON) are
  quarantined as duplicates of the first; a song_id seen again with other attributes is
  quarantined as a conflict (the first, in key order, wins).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from hashlib import blake2b
from typing import IO

import orjson
import pyarrow as pa
from ftfy import fix_encoding

from music_dwh.resources.raw_store import RawStore
from music_dwh.resources.warehouse import TableWrite, WarehouseSession
from music_dwh.staging.common import (
    INT32_MAX,
    MAX_RECORD_BYTES,
    QUARANTINE_SCHEMA,
    BatchBuilder,
    Bound,
    LoadStats,
    utc_now,
)

SCHEMA = "sparkify"
EVENTS_TABLE = f"{SCHEMA}.staging_events"
SONGS_TABLE = f"{SCHEMA}.staging_songs"
QUARANTINE_TABLE = f"{SCHEMA}.quarantine"

LOG_PREFIX = "sparkify/log_data/"
SONG_PREFIX = "sparkify/song_data/"

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
_ARROW = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "userid": pa.int64()}

# Physical ranges (the README's table says why each). Epoch milliseconds of 2000-01-01 and of
# the last millisecond of 2099-12-31, UTC.
EPOCH_MS_MIN = 946_684_800_000
EPOCH_MS_MAX = 4_102_444_799_999
_EPOCH_MS = Bound(EPOCH_MS_MIN, EPOCH_MS_MAX, "epoch milliseconds 946,684,800,000 to 4,102,444,799,999: "
                  "2000-01-01 to 2099-12-31 UTC")
_COUNTER = Bound(0, INT32_MAX, "0 to 2,147,483,647")
_SECONDS = Bound(0.0, 86_400.0, "more than 0 and at most 86,400 seconds (one day)", low_open=True)
EVENT_BOUNDS: dict[str, Bound] = {
    "itemInSession": _COUNTER,
    "length": _SECONDS,
    "registration": _EPOCH_MS,
    "sessionId": _COUNTER,
    "status": Bound(100, 599, "an HTTP status, 100 to 599"),
    "ts": _EPOCH_MS,
    "userId": _COUNTER,
}
SONG_BOUNDS: dict[str, Bound] = {
    "num_songs": _COUNTER,
    "artist_latitude": Bound(-90.0, 90.0, "-90 to 90 degrees"),
    "artist_longitude": Bound(-180.0, 180.0, "-180 to 180 degrees"),
    "duration": _SECONDS,
    "year": Bound(1800, 2100, "0 (unknown) or 1800 to 2100", also=(0,)),
}
# Every numeric field has its range: nothing staged can overflow int64 or a mart's arithmetic.
assert {k for k, _, kind, _ in EVENT_FIELDS if kind != "str"} == set(EVENT_BOUNDS)
assert {k for k, _, kind, _ in SONG_FIELDS if kind != "str"} == set(SONG_BOUNDS)

LINEAGE = [
    ("source_file", pa.string()),
    ("source_line", pa.int64()),
    ("loaded_at", pa.timestamp("us")),
]
EVENTS_SCHEMA = pa.schema(
    [(col, _ARROW[kind]) for _, col, kind, _ in EVENT_FIELDS]
    + [("partition_date", pa.date32())]
    + LINEAGE
)
SONGS_SCHEMA = pa.schema([(col, _ARROW[kind]) for _, col, kind, _ in SONG_FIELDS] + LINEAGE)

_BOM = b"\xef\xbb\xbf"
_DAY_MS = 86_400_000


class RecordError(ValueError):
    """Why one raw record cannot be staged (becomes its quarantine reason)."""


def log_day_prefix(day: dt.date) -> str:
    # The full date and the dash: 2018-11-1 must never match 2018-11-10.
    return f"{LOG_PREFIX}{day:%Y/%m}/{day:%Y-%m-%d}-"


def _convert(key: str, kind: str, value, stats: LoadStats):
    if value is None:
        return None
    if kind == "str":
        if not isinstance(value, str):
            raise RecordError(f"field '{key}': expected text, got {type(value).__name__} {value!r:.40}")
        if not value.isascii():
            fixed = fix_encoding(value)
            if fixed != value:
                stats.repaired_values += 1
                return fixed
        return value
    if kind in ("int", "userid"):
        if kind == "userid" and isinstance(value, str):
            if value == "":
                return None  # a logged-out visitor: staged, never becomes a user
            if value.isdigit():
                return int(value)
            raise RecordError(f"field '{key}': expected a numeric user id, got {value!r:.40}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordError(f"field '{key}': expected an integer, got {type(value).__name__} {value!r:.40}")
        if isinstance(value, float):
            if not value.is_integer():
                raise RecordError(f"field '{key}': expected an integer, got {value!r}")
            return int(value)
        return value
    # float
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"field '{key}': expected a number, got {type(value).__name__} {value!r:.40}")
    return float(value)


def _parse_object(raw: bytes) -> dict:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as uexc:
            raise RecordError(f"invalid UTF-8 at byte {uexc.start} of the line") from None
        raise RecordError(f"malformed JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise RecordError(f"JSON value is {type(obj).__name__}, expected an object")
    return obj


def _values(obj: dict, fields, stats: LoadStats, bounds: dict[str, Bound]) -> list:
    values = []
    for key, _col, kind, required in fields:
        value = obj.get(key)
        if value is None and required:
            raise RecordError(f"field '{key}' is missing or null")
        converted = _convert(key, kind, value, stats)
        bound = bounds.get(key)
        if converted is not None and bound is not None and not bound.admits(converted):
            # The value as delivered (1e+308, not the 309 digits of its integer).
            raise RecordError(f"field '{key}': {value!r:.40} is out of range (accepted: {bound.accepted})")
        values.append(converted)
    return values


def _lines(fh: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    """Numbered non-blank lines, BOM dropped; over-long lines come back whole (rejected later)."""
    for number, raw in enumerate(fh, start=1):
        if number == 1 and raw.startswith(_BOM):
            raw = raw[len(_BOM) :]
        if raw.strip():
            yield number, raw


# Index of fields used by the event rules below.
_I_PAGE = [c for _, c, _, _ in EVENT_FIELDS].index("page")
_I_TS = [c for _, c, _, _ in EVENT_FIELDS].index("ts")
_I_SONG = [c for _, c, _, _ in EVENT_FIELDS].index("song")
_I_ARTIST = [c for _, c, _, _ in EVENT_FIELDS].index("artist")
_I_LENGTH = [c for _, c, _, _ in EVENT_FIELDS].index("length")


def event_batches(
    store: RawStore, day: dt.date, stats: LoadStats, loaded_at: dt.datetime, fast: bool = True
) -> Iterator[pa.RecordBatch]:
    """Staging rows for one day's log file(s), as Arrow batches; bad records go to ``stats``.

    Each file is judged by an in-memory DuckDB (``sparkify_duckdb.EventJudge``), which hands
    the lines it cannot judge exactly to ``_checked_event``, the line-by-line rules. ``fast=False``
    sends every line through those rules: the reference the tests compare the SQL path with.
    """
    day_start = int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp() * 1000)
    day_end = day_start + _DAY_MS
    if fast:
        yield from _judged_batches(store, day, day_start, day_end, stats, loaded_at)
        return
    builder = BatchBuilder(EVENTS_SCHEMA)
    for obj_info in store.list(log_day_prefix(day)):
        if not obj_info.key.endswith(".json"):
            continue
        stats.files += 1
        stats.bytes += obj_info.size
        # Line digests, not lines: a day's raw text would otherwise stay in memory to the end.
        seen: dict[bytes, int] = {}
        with store.open(obj_info.key) as fh:
            for number, raw in _lines(fh):
                stats.records += 1
                try:
                    values = _checked_event(raw, number, seen, day, day_start, day_end, stats)
                except RecordError as exc:
                    stats.reject(obj_info.key, number, raw, str(exc))
                    continue
                builder.append((*values, day, obj_info.key, number, loaded_at))
                stats.loaded += 1
                if builder.full():
                    yield builder.flush()
    if len(builder):
        yield builder.flush()


def _judged_batches(
    store: RawStore, day: dt.date, day_start: int, day_end: int, stats: LoadStats, loaded_at: dt.datetime
) -> Iterator[pa.RecordBatch]:
    from music_dwh.settings import get_settings
    from music_dwh.staging.sparkify_duckdb import EventJudge

    # The warehouse's DuckDB memory limit binds the staging engine too; one file at a time.
    with EventJudge.borrow(get_settings().duckdb_memory_limit) as judge:
        for obj_info in store.list(log_day_prefix(day)):
            if not obj_info.key.endswith(".json"):
                continue
            stats.files += 1
            stats.bytes += obj_info.size
            with store.open(obj_info.key) as fh:
                data = fh.read()
            yield from judge.file_batches(data, obj_info.key, day, day_start, day_end, stats, loaded_at)
            del data


def _checked_event(
    raw: bytes, number: int, seen: dict[bytes, int], day: dt.date, day_start: int, day_end: int, stats: LoadStats
) -> list:
    """One event line's staging values, or ``RecordError`` with the reason it is quarantined."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(f"line is {len(raw):,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit for one event")
    identity = _digest(raw)
    first = seen.get(identity)
    if first is not None:
        raise RecordError(f"exact duplicate of line {first}")
    values = _values(_parse_object(raw), EVENT_FIELDS, stats, EVENT_BOUNDS)
    ts = values[_I_TS]
    if not day_start <= ts < day_end:
        when = dt.datetime.fromtimestamp(ts / 1000, dt.UTC).isoformat(timespec="seconds")
        raise RecordError(f"field 'ts': {when} is outside the file's day {day.isoformat()} (UTC)")
    if values[_I_PAGE] == "NextSong" and (
        values[_I_SONG] is None or values[_I_ARTIST] is None or values[_I_LENGTH] is None
    ):
        raise RecordError("NextSong event without song, artist or length")
    seen[identity] = number
    return values


def _digest(raw: bytes) -> bytes:
    return blake2b(raw.rstrip(), digest_size=16).digest()


def song_batches(store: RawStore, stats: LoadStats, loaded_at: dt.datetime) -> Iterator[pa.RecordBatch]:
    """Staging rows for the whole song catalogue (all song files, in key order)."""
    builder = BatchBuilder(SONGS_SCHEMA)
    seen_records: dict[bytes, tuple[str, int]] = {}
    seen_ids: dict[str, tuple[str, int]] = {}
    for obj_info in store.list(SONG_PREFIX):
        if not obj_info.key.endswith(".json"):
            continue
        stats.files += 1
        stats.bytes += obj_info.size
        with store.open(obj_info.key) as fh:
            for number, raw in _lines(fh):
                stats.records += 1
                try:
                    if len(raw) > MAX_RECORD_BYTES:
                        raise RecordError(
                            f"line is {len(raw):,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit for one song"
                        )
                    obj = _parse_object(raw)
                    canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
                    if canonical in seen_records:
                        file, line = seen_records[canonical]
                        raise RecordError(f"exact duplicate of {file} line {line}")
                    values = _values(obj, SONG_FIELDS, stats, SONG_BOUNDS)
                    song_id = obj["song_id"]
                    if song_id in seen_ids:
                        file, line = seen_ids[song_id]
                        raise RecordError(
                            f"song_id {song_id} was already loaded from {file} line {line} with "
                            "different attributes (the first record in key order wins)"
                        )
                except RecordError as exc:
                    stats.reject(obj_info.key, number, raw, str(exc))
                    continue
                seen_records[canonical] = (obj_info.key, number)
                seen_ids[song_id] = (obj_info.key, number)
                builder.append((*values, obj_info.key, number, loaded_at))
                stats.loaded += 1
                if builder.full():
                    yield builder.flush()
    if len(builder):
        yield builder.flush()


def _quarantine_write(stats: LoadStats, threshold: float, loaded_at: dt.datetime) -> TableWrite:
    def batches():
        # Runs after the staging rows were consumed, still inside the transaction: raising
        # here rolls the whole day back.
        stats.check_threshold(threshold)
        yield from stats.quarantine_batches(loaded_at)

    where = {"target_table": stats.target_table}
    if stats.partition_date is not None:
        where["partition_date"] = stats.partition_date
    return TableWrite(QUARANTINE_TABLE, QUARANTINE_SCHEMA, batches(), replace_where=where)


def load_events_day(
    store: RawStore, session: WarehouseSession, day: dt.date, threshold: float
) -> LoadStats:
    """Replace ``staging_events`` and its quarantine rows for ``day`` in one transaction."""
    loaded_at = utc_now()
    stats = LoadStats(target_table="staging_events", partition_date=day)
    session.write(
        [
            TableWrite(
                EVENTS_TABLE,
                EVENTS_SCHEMA,
                event_batches(store, day, stats, loaded_at),
                replace_where={"partition_date": day},
            ),
            _quarantine_write(stats, threshold, loaded_at),
        ]
    )
    return stats


def load_song_catalogue(store: RawStore, session: WarehouseSession, threshold: float) -> LoadStats:
    """Replace ``staging_songs`` (and its quarantine rows) with the whole catalogue."""
    loaded_at = utc_now()
    stats = LoadStats(target_table="staging_songs", partition_date=None)
    session.write(
        [
            TableWrite(SONGS_TABLE, SONGS_SCHEMA, song_batches(store, stats, loaded_at)),
            _quarantine_write(stats, threshold, loaded_at),
        ]
    )
    return stats


def count_records(store: RawStore, prefix: str) -> int:
    """Raw records (non-blank lines) under ``prefix``, counted independently of the loader's
    parsing: what reconciliation compares with staged + quarantined."""
    total = 0
    for obj_info in store.list(prefix):
        if obj_info.key.endswith(".json"):
            with store.open(obj_info.key) as fh:
                total += sum(1 for _ in _lines(fh))
    return total


def log_days(store: RawStore) -> list[dt.date]:
    """Every day that has a log file in the raw store, sorted."""
    days = set()
    for obj_info in store.list(LOG_PREFIX):
        name = obj_info.key.rsplit("/", 1)[-1]
        try:
            days.add(dt.date.fromisoformat(name[:10]))
        except ValueError:
            continue
    return sorted(days)
