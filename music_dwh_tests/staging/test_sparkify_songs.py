"""The vectorized song catalogue (``staging/sparkify_songs.py``) against its oracle, the
line-by-line rules (``sparkify_rules._checked_song``).

Generated catalogues get seeded random corruptions of every bad-input kind, duplicates and
conflicting song ids across files, and odd file frames; both paths must give identical staging
rows, quarantine rows (file, line, reason, raw text), repair counts and record counts. A clean
catalogue must never reach the rules.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pyarrow as pa
import pytest

from music_dwh.datagen.sparkify import generate_sparkify
from music_dwh.sources.sparkify import SONG_PREFIX, is_song_file
from music_dwh.staging import sparkify as staging
from music_dwh.staging import sparkify_rules, sparkify_songs
from music_dwh.staging.common import LoadStats
from music_dwh_tests.staging.oracle import assert_same, books

DAY = dt.date(2018, 11, 1)
LOADED_AT = dt.datetime(2026, 1, 1)


def _dump(obj) -> bytes:
    return json.dumps(obj).encode()


def _set(raw: bytes, **changes) -> bytes:
    return _dump({**json.loads(raw), **changes})


def _drop(raw: bytes, key: str) -> bytes:
    obj = json.loads(raw)
    obj.pop(key, None)
    return _dump(obj)


def _literal(raw: bytes, key: str, literal: bytes) -> bytes:
    """``key``'s value written as a literal JSON cannot express (NaN, 1e999, a raw tab)."""
    return _set(raw, **{key: "@@placeholder@@"}).replace(b'"@@placeholder@@"', literal)


# Every bad-input kind of the catalogue and every oddity a JSON reader may judge otherwise.
CORRUPTIONS = {
    "truncated": lambda r, g: r[: g.randrange(1, len(r) - 1)],
    "list": lambda r, g: b"[1, 2]",
    "number": lambda r, g: b"42",
    "song_id missing": lambda r, g: _drop(r, "song_id"),
    "title null": lambda r, g: _set(r, title=None),
    "optional missing": lambda r, g: _drop(r, g.choice(["artist_location", "year", "duration"])),
    "year as text": lambda r, g: _set(r, year="1999"),
    "year 1999.0": lambda r, g: _set(r, year=1999.0),
    "year 1999.5": lambda r, g: _set(r, year=1999.5),
    "year 20000": lambda r, g: _set(r, year=20000),
    "year 0": lambda r, g: _set(r, year=0),
    "year 2E3": lambda r, g: _literal(r, "year", b"2E3"),
    "num_songs 2**63": lambda r, g: _set(r, num_songs=2**63),
    "num_songs -1": lambda r, g: _set(r, num_songs=-1),
    "num_songs true": lambda r, g: _set(r, num_songs=True),
    "latitude 95": lambda r, g: _set(r, artist_latitude=95.0),
    "latitude NaN": lambda r, g: _literal(r, "artist_latitude", b"NaN"),
    "longitude -Infinity": lambda r, g: _literal(r, "artist_longitude", b"-Infinity"),
    "duration 0": lambda r, g: _set(r, duration=0),
    "duration -0.0": lambda r, g: _set(r, duration=-0.0),
    "duration 1e999": lambda r, g: _literal(r, "duration", b"1e999"),
    "duration as text": lambda r, g: _set(r, duration="long"),
    "title a number": lambda r, g: _set(r, title=7),
    "artist_name a list": lambda r, g: _set(r, artist_name=["a", "b"]),
    "invalid UTF-8": lambda r, g: r.replace(b'"title": "', b'"title": "\xff\xfe', 1),
    "extra key": lambda r, g: r[:-1] + b', "extra": 1}',
    "duplicate key": lambda r, g: r[:-1] + b', "title": "Other"}',
    "trailing comma": lambda r, g: r[:-1] + b",}",
    "two objects": lambda r, g: r + b" " + r,
    "lone surrogate": lambda r, g: _literal(r, "title", b'"\\ud800x"'),
    "control character": lambda r, g: _literal(r, "title", b'"a\tb"'),
    "escaped NUL": lambda r, g: _set(r, title="a\x00b"),
    "escaped key": lambda r, g: r.replace(b'"title"', b'"t\\u0069tle"'),
    "shuffled keys": lambda r, g: _dump(dict(g.sample(sorted(json.loads(r).items()), 10))),
    "mojibake": lambda r, g: _set(r, artist_name="Bj\u00c3\u0083\u00c2\u00b6rk"),
    "latitude -0.0": lambda r, g: _set(r, artist_latitude=-0.0),
    "edges": lambda r, g: _set(r, artist_latitude=-90.0, artist_longitude=180, year=2100),
    "spaces around": lambda r, g: b"  " + r + b" \t",
    "over a MiB": lambda r, g: _set(r, title="x" * (1 << 20)),
}


def _catalogue(store, seed: int, songs: int = 300) -> dict[str, bytes]:
    generate_sparkify(store, DAY, days=1, events_per_day=20, songs=songs, seed=seed)
    return {o.key: store.read_bytes(o.key) for o in store.list(SONG_PREFIX) if is_song_file(o.key)}


def _write(store, files: dict[str, bytes]) -> None:
    store.delete_keys([o.key for o in store.list(SONG_PREFIX)])
    for key, data in files.items():
        store.write_bytes(key, data)


def _run(store, fast: bool) -> tuple[pa.Table, LoadStats]:
    stats = LoadStats(target_table="staging_songs", partition_date=None)
    batches = list(staging.song_batches(store, stats, LOADED_AT, fast=fast))
    table = pa.Table.from_batches(batches, schema=staging.SONGS_SCHEMA)
    return table.sort_by([("source_file", "ascending"), ("source_line", "ascending")]), stats


def _assert_same(store) -> tuple[LoadStats, LoadStats]:
    fast_stats, slow_stats = assert_same(lambda fast: _run(store, fast))
    assert fast_stats.records == staging.count_records(store, SONG_PREFIX)
    return fast_stats, slow_stats


def _sibling(key: str, tag: str) -> str:
    """Another song file's key beside ``key`` (sorting after it)."""
    return key.removesuffix(".json") + f"{tag}.json"


@pytest.mark.parametrize("seed, rate", [(1, 0.15), (2, 0.15), (3, 0.01)])
def test_corrupted_catalogues_give_the_same_rows_and_books_on_both_paths(
    store, monkeypatch, seed, rate
):
    monkeypatch.setattr(sparkify_songs, "BLOCK_LINES", 64)  # many blocks, most of them clean
    files = _catalogue(store, seed)
    rng = random.Random(seed)
    kinds = sorted(CORRUPTIONS)
    keys = sorted(files)
    out: dict[str, bytes] = {}
    bad: list[bytes] = []
    for key in keys:
        record = files[key].split(b"\n")[0]  # some songs are delivered twice in a file
        roll = rng.random()
        if roll < rate:
            line = CORRUPTIONS[rng.choice(kinds)](record, rng)
            bad.append(line)
            out[key] = line
        elif roll < 2 * rate:  # the same song again: exact, conflicting, or a bad line repeated
            other = files[rng.choice(keys)].split(b"\n")[0]
            again = rng.choice(
                [
                    other,
                    other + b"  ",
                    _set(other, title="Another Title"),
                    rng.choice(bad or [other]),
                ]
            )
            lines = [record, again] if rng.random() < 0.5 else [again, record]
            out[key] = b"\n".join(lines)
            out[_sibling(key, "X")] = rng.choice([record, again])
        else:
            out[key] = files[key]
    out[keys[0]] = _set(out[keys[0]].split(b"\n")[0], artist_name="Bj\u00c3\u0083\u00c2\u00b6rk")
    # File frames: byte-order marks, blank lines, CRLF endings, final newlines, empty files.
    for key in rng.sample(sorted(out), 40):
        frame = rng.choice(["bom", "blank", "crlf", "newline", "empty", "spaces"])
        out[key] = {
            "bom": lambda d: b"\xef\xbb\xbf" + d,
            "blank": lambda d: b"\n  \n" + d + b"\n\r\n",
            "crlf": lambda d: d.replace(b"\n", b"\r\n") + b"\r\n",
            "newline": lambda d: d + b"\n",
            "empty": lambda d: b"",
            "spaces": lambda d: b"   ",
        }[frame](out[key])
    _write(store, out)
    fast_stats, slow_stats = _assert_same(store)
    assert slow_stats.quarantined > 3 and slow_stats.repaired_values > 0
    reasons = " / ".join(r.reason for r in slow_stats.rejected)
    for reason in ("exact duplicate of", "was already loaded from", "out of range"):
        assert reason in reasons, reason
    # The rules saw the bad records and the records sharing their song ids, not the clean rest.
    assert 0 < fast_stats.fallback_lines < 6 * rate * fast_stats.records


def test_every_corruption_kind_alone_gives_the_same_books(store):
    """Each kind once among clean files, so a disagreement names the kind that caused it."""
    files = _catalogue(store, seed=7, songs=40)
    keys = sorted(files)
    rng = random.Random(7)
    for kind, corrupt in sorted(CORRUPTIONS.items()):
        changed = dict(files)
        record = files[keys[10]].split(b"\n")[0]
        changed[keys[10]] = corrupt(record, rng)
        changed[_sibling(keys[10], "X")] = record  # the clean record, after it
        _write(store, changed)
        try:
            _assert_same(store)
        except AssertionError as exc:
            raise AssertionError(f"{kind}: {exc}") from exc


def test_a_clean_catalogue_never_reaches_the_rules(store, monkeypatch):
    """Generated songs (double-encoded names, unknown locations and years) are judged by Arrow
    alone and give exactly the rules' rows and repairs."""
    files = _catalogue(store, seed=5, songs=2_000)
    # Some double-encoded text, so the repair count is exercised too.
    first = sorted(files)[0]
    files[first] = _set(files[first].split(b"\n")[0], artist_name="Bj\u00c3\u0083\u00c2\u00b6rk")
    _write(store, files)
    slow, slow_stats = _run(store, fast=False)
    calls: list[int] = []
    real = sparkify_rules._checked_song

    def checked_song(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(sparkify_rules, "_checked_song", checked_song)
    fast, fast_stats = _run(store, fast=True)
    assert calls == [] and fast_stats.fallback_lines == 0
    assert books(fast_stats) == books(slow_stats)
    assert fast.equals(slow)
    assert fast_stats.loaded == 2_000 and fast_stats.repaired_values > 0


def test_line_numbers_follow_each_file(store):
    """Numbers restart in every file and count blank lines, after empty files and files
    without a final newline, as the rules number them."""
    record = {k: v.split(b"\n")[0] for k, v in _catalogue(store, seed=9, songs=10).items()}
    a, b, c = sorted(record)[:3]
    _write(
        store,
        {
            a: b"",
            _sibling(a, "X"): b"\n\n" + record[a],  # line 3
            b: record[b] + b"\n\n",  # line 1
            c: b"\xef\xbb\xbf\n" + _set(record[c], year=-5) + b"\n" + record[c],
        },
    )
    fast, stats = _run(store, fast=True)
    staged = fast.select(["source_file", "source_line"]).to_pylist()
    assert sorted((r["source_file"], r["source_line"]) for r in staged) == sorted(
        [(b, 1), (c, 3), (_sibling(a, "X"), 3)]
    )
    assert [(r.source_file, r.line_number) for r in stats.rejected] == [(c, 2)]
    _assert_same(store)
