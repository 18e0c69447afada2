"""Sparkify's record rules, one line at a time: parsing, types, physical ranges, the day, the
NextSong rule and duplicates, with the reason texts the quarantine keeps.

They are the reference: ``sparkify_duckdb.py`` judges whole files a column at a time and hands
these rules every line it cannot judge exactly; the tests compare both paths line for line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from hashlib import blake2b
from typing import IO

import orjson
import pyarrow as pa
from ftfy import fix_encoding

from music_dwh.sources.sparkify import EVENT_FIELDS, SONG_FIELDS
from music_dwh.staging.common import (
    INT32_MAX,
    LINEAGE,
    MAX_RECORD_BYTES,
    Bound,
    LoadStats,
    RecordError,
    nul_reason,
)

_ARROW = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "userid": pa.int64()}

# Physical ranges (the README's table says why each). Epoch milliseconds of 2000-01-01 and of
# the last millisecond of 2099-12-31, UTC.
EPOCH_MS_MIN = 946_684_800_000
EPOCH_MS_MAX = 4_102_444_799_999
_EPOCH_MS = Bound(
    EPOCH_MS_MIN,
    EPOCH_MS_MAX,
    "epoch milliseconds 946,684,800,000 to 4,102,444,799,999: 2000-01-01 to 2099-12-31 UTC",
)
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

EVENTS_SCHEMA = pa.schema(
    [(col, _ARROW[kind]) for _, col, kind, _ in EVENT_FIELDS]
    + [("partition_date", pa.date32())]
    + LINEAGE
)
SONGS_SCHEMA = pa.schema([(col, _ARROW[kind]) for _, col, kind, _ in SONG_FIELDS] + LINEAGE)

_BOM = b"\xef\xbb\xbf"
_DAY_MS = 86_400_000


def _convert(key: str, kind: str, value, stats: LoadStats):
    if value is None:
        return None
    if kind == "str":
        if not isinstance(value, str):
            raise RecordError(
                f"field '{key}': expected text, got {type(value).__name__} {value!r:.40}"
            )
        if "\x00" in value:
            raise RecordError(nul_reason(f"field '{key}'"))
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
            raise RecordError(
                f"field '{key}': expected an integer, got {type(value).__name__} {value!r:.40}"
            )
        if isinstance(value, float):
            if not value.is_integer():
                raise RecordError(f"field '{key}': expected an integer, got {value!r}")
            return int(value)
        return value
    # float
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(
            f"field '{key}': expected a number, got {type(value).__name__} {value!r:.40}"
        )
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
            raise RecordError(
                f"field '{key}': {value!r:.40} is out of range (accepted: {bound.accepted})"
            )
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


def _checked_event(
    raw: bytes,
    number: int,
    seen: dict[bytes, int],
    day: dt.date,
    day_start: int,
    day_end: int,
    stats: LoadStats,
) -> list:
    """One event line's staging values, or ``RecordError`` with the reason it is quarantined."""
    if len(raw) > MAX_RECORD_BYTES:
        raise RecordError(
            f"line is {len(raw):,} bytes, over the {MAX_RECORD_BYTES:,}-byte limit for one event"
        )
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


def _checked_song(
    raw: bytes,
    source_file: str,
    number: int,
    seen_records: dict[bytes, tuple[str, int]],
    seen_ids: dict[str, tuple[str, int]],
    stats: LoadStats,
) -> list:
    """One song record's staging values, or ``RecordError`` with the reason it is quarantined.
    ``seen_records`` (canonical JSON) and ``seen_ids`` hold the records staged before it in key
    order; it is added to both when it is staged."""
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
    seen_records[canonical] = seen_ids[song_id] = (source_file, number)
    return values


def _digest(raw: bytes) -> bytes:
    return blake2b(raw.rstrip(), digest_size=16).digest()
