"""The vectorized (DuckDB) staging of Sparkify events against its oracle, the line-by-line rules.

Generated logs with every quirk of the public sample get seeded random corruptions of every
bad-input kind (thousands of lines per case); both paths must give identical staging rows,
quarantine rows (line, reason, raw text), repair counts and record counts. Clean logs must be
judged by SQL alone.
"""

from __future__ import annotations

import datetime as dt
import json
import random

import pyarrow as pa
import pytest

from music_dwh.datagen.sparkify import generate_sparkify, log_key
from music_dwh.staging import sparkify as staging
from music_dwh.staging import sparkify_duckdb
from music_dwh.staging.common import LoadStats
from music_dwh_tests.staging.oracle import assert_same

DAY = dt.date(2018, 11, 1)
DAY_MS = int(dt.datetime(2018, 11, 1, tzinfo=dt.UTC).timestamp() * 1000)
LOADED_AT = dt.datetime(2026, 1, 1)


def _dump(obj) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _set(raw: bytes, **changes) -> bytes:
    obj = json.loads(raw)
    obj.update(changes)
    return _dump(obj)


def _drop(raw: bytes, key: str) -> bytes:
    obj = json.loads(raw)
    obj.pop(key, None)
    return _dump(obj)


def _replace_value(raw: bytes, key: str, literal: bytes) -> bytes:
    """``key``'s value written as a literal JSON cannot express (NaN, 1e999, a raw control byte)."""
    obj = json.loads(raw)
    obj[key] = "@@placeholder@@"
    return _dump(obj).replace(b'"@@placeholder@@"', literal)


# Every bad-input kind of the catalogue (test_sparkify.py) and every oddity the fast paths have
# had to tell apart, as functions of a random good line and the random generator.
CORRUPTIONS = {
    "truncated": lambda r, g: r[: g.randrange(1, len(r) - 1)],
    "list": lambda r, g: b"[1, 2, 3]",
    "text": lambda r, g: b'"just text"',
    "number": lambda r, g: b"42",
    "ts as text": lambda r, g: _set(r, ts=str(json.loads(r)["ts"])),
    "sessionId as text": lambda r, g: _set(r, sessionId="139"),
    "sessionId 1.5": lambda r, g: _set(r, sessionId=1.5),
    "itemInSession 1.0": lambda r, g: _set(r, itemInSession=float(g.randrange(100))),
    "userId abc": lambda r, g: _set(r, userId="abc"),
    "userId 8x": lambda r, g: _set(r, userId="8x"),
    "userId as number": lambda r, g: _set(r, userId=g.randrange(1, 500)),
    "userId padded": lambda r, g: _set(r, userId=" 8"),
    "userId huge": lambda r, g: _set(r, userId="99999999999999999999"),
    "userId 2**31": lambda r, g: _set(r, userId=str(2**31)),
    "length as text": lambda r, g: _set(r, length="long"),
    "boolean number": lambda r, g: _set(r, status=True),
    "array value": lambda r, g: _set(r, artist=["a", "b"]),
    "object value": lambda r, g: _set(r, song={"x": 1}),
    "number for text": lambda r, g: _set(r, firstName=7),
    "swapped types": lambda r, g: _set(r, artist=5, ts=str(json.loads(r)["ts"])),
    "page missing": lambda r, g: _drop(r, "page"),
    "optional missing": lambda r, g: _drop(
        r, g.choice(["gender", "location", "method", "userAgent"])
    ),
    "ts null": lambda r, g: _set(r, ts=None),
    "auth null": lambda r, g: _set(r, auth=None),
    "before the day": lambda r, g: _set(r, ts=DAY_MS - g.randrange(1, 10**9)),
    "after the day": lambda r, g: _set(r, ts=DAY_MS + 86_400_000 + g.randrange(0, 10**9)),
    "NextSong without song": lambda r, g: _set(r, page="NextSong", song=None),
    "NextSong without length": lambda r, g: _set(r, page="NextSong", length=None),
    "invalid UTF-8": lambda r, g: r.replace(b'"auth":"', b'"auth":"\xff\xfe', 1),
    "length 1e308": lambda r, g: _set(r, length=1e308),
    "length -1": lambda r, g: _set(r, length=-1.0),
    "length 0": lambda r, g: _set(r, length=0),
    "length -0.0": lambda r, g: _set(r, length=-0.0),
    "length over a day": lambda r, g: _set(r, length=86_400.001),
    "length 1e999": lambda r, g: _replace_value(r, "length", b"1e999"),
    "length NaN": lambda r, g: _replace_value(r, "length", b"NaN"),
    "registration Infinity": lambda r, g: _replace_value(r, "registration", b"-Infinity"),
    "ts 1e308": lambda r, g: _set(r, ts=1e308),
    "ts -1": lambda r, g: _set(r, ts=-1),
    "ts 2100": lambda r, g: _set(r, ts=4_102_444_800_000),
    "registration 1e20": lambda r, g: _set(r, registration=1e20),
    "registration -5": lambda r, g: _set(r, registration=-5.0),
    "itemInSession -1": lambda r, g: _set(r, itemInSession=-1),
    "itemInSession 2**31": lambda r, g: _set(r, itemInSession=2**31),
    "sessionId 2**64-1": lambda r, g: _set(r, sessionId=2**64 - 1),
    "sessionId 2**64": lambda r, g: _set(r, sessionId=2**64),
    "sessionId 1e300": lambda r, g: _set(r, sessionId=1e300),
    "status 999": lambda r, g: _set(r, status=999),
    "status -200": lambda r, g: _set(r, status=-200),
    "at the edges": lambda r, g: _set(
        r,
        length=5e-324,
        itemInSession=0,
        sessionId=2**31 - 1,
        status=599,
        userId="0",
        registration=946_684_800_000.0,
    ),
    "NaN elsewhere": lambda r, g: r[:-1] + b',"extra":NaN}',
    "extra key": lambda r, g: r[:-1] + b',"extra":"fine"}',
    "duplicate key": lambda r, g: (
        r[:-1] + b',"ts":' + str(DAY_MS + g.randrange(86_400_000)).encode() + b"}"
    ),
    "trailing comma": lambda r, g: r[:-1] + b",}",
    "two objects": lambda r, g: r + b" " + r,
    "lone surrogate": lambda r, g: _replace_value(r, "song", b'"\\ud800x"'),
    "surrogate pair": lambda r, g: _set(r, song="Smile \U0001f600"),
    "control character": lambda r, g: _replace_value(r, "song", b'"a\tb"'),
    "escaped NUL": lambda r, g: _set(r, song="a\x00b"),
    "raw CR in a string": lambda r, g: _replace_value(r, "song", b'"a\rb"'),
    "CR between objects": lambda r, g: r + b"\r" + r,
    "escaped key": lambda r, g: r.replace(b'"song"', b'"s\\u006fng"'),
    "escaped key repeated": lambda r, g: r[:-1] + b',"s\\u006fng":"other"}',
    "integer with exponent": lambda r, g: _replace_value(r, "status", b"2E2"),
    "tabs after colons": lambda r, g: r.replace(b'":', b'":\t'),
    "empty key": lambda r, g: r[:-1] + b',"":1}',
    "nested trailing comma": lambda r, g: r[:-1] + b',"x":[1,]}',
    "non-ASCII page": lambda r, g: _set(r, page="NextSong\u00e9"),
    "shuffled keys": lambda r, g: _dump(
        dict(g.sample(sorted(json.loads(r).items()), len(json.loads(r))))
    ),
    "negative zero": lambda r, g: _replace_value(r, "itemInSession", b"-0"),
    "spaces around": lambda r, g: b"  " + r + b" \t",
    "carriage return": lambda r, g: r + b"\r",
    "form feed after": lambda r, g: r + b"\x0c",
    "BOM mid-file": lambda r, g: b"\xef\xbb\xbf" + r,
    "mojibake": lambda r, g: _set(
        r, artist="Bj\u00c3\u0083\u00c2\u00b6rk", location="S\u00c3\u00a3o Paulo"
    ),
    "whitespace only": lambda r, g: b" \t ",
    "empty": lambda r, g: b"",
    "over a MiB": lambda r, g: b'{"artist":"' + b"x" * (1 << 20) + b'"}',
}
# Copies of earlier lines (byte-identical, or equal once trailing whitespace is stripped).
REPEATS = ["exact repeat", "repeat with trailing spaces", "repeat of a bad line"]


@pytest.fixture
def per_line_files(monkeypatch) -> list[int]:
    """Records the lines of each file SQL had to read line by line (the real reading runs)."""
    calls: list[int] = []
    real = sparkify_duckdb.EventJudge._read_per_line

    def read_per_line(self, ranges, lines):
        calls.append(sum(rows for _, rows in ranges))
        return real(self, ranges, lines)

    monkeypatch.setattr(sparkify_duckdb.EventJudge, "_read_per_line", read_per_line)
    return calls


def _corrupted_log(store, seed: int, events: int, rate: float) -> list[bytes]:
    """A generated day's lines with a share ``rate`` of them corrupted or repeated."""
    generate_sparkify(store, DAY, days=1, events_per_day=events, songs=300, seed=seed)
    good = store.read_bytes(log_key(DAY)).splitlines()
    rng = random.Random(seed)
    kinds = sorted(CORRUPTIONS) + REPEATS
    out: list[bytes] = []
    bad: list[bytes] = []
    for raw in good:
        if rng.random() >= rate or not out:
            out.append(raw)
            continue
        kind = rng.choice(kinds)
        if kind == "exact repeat":
            out.append(rng.choice(out))
        elif kind == "repeat with trailing spaces":
            out.append(rng.choice(out) + b"  ")
        elif kind == "repeat of a bad line" and bad:
            out.append(rng.choice(bad))
        else:
            line = CORRUPTIONS[kind if kind in CORRUPTIONS else "truncated"](raw, rng)
            bad.append(line)
            out.append(line)
    return out


def _run(store, fast: bool) -> tuple[pa.Table, LoadStats]:
    stats = LoadStats(target_table="staging_events", partition_date=DAY)
    batches = list(staging.event_batches(store, DAY, stats, LOADED_AT, fast=fast))
    table = pa.Table.from_batches(batches, schema=staging.EVENTS_SCHEMA)
    return table.sort_by([("source_file", "ascending"), ("source_line", "ascending")]), stats


def _assert_same(store) -> tuple[LoadStats, LoadStats]:
    return assert_same(lambda fast: _run(store, fast))


@pytest.mark.parametrize(
    "seed, rate, block_lines",
    [
        (1, 0.12, sparkify_duckdb.BLOCK_LINES),
        (2, 0.12, sparkify_duckdb.BLOCK_LINES),
        # Few bad lines in small blocks: most blocks keep Arrow's values, a few are read line by
        # line in SQL, and duplicates still span blocks.
        (3, 0.004, 250),
        (4, 0.02, 60),
    ],
)
def test_corrupted_logs_give_the_same_rows_and_books_on_both_paths(
    store, monkeypatch, per_line_files, seed, rate, block_lines
):
    monkeypatch.setattr(sparkify_duckdb, "BLOCK_LINES", block_lines)
    parsed_blocks: list[
        bool
    ] = []  # per block of a file judged block by block: kept Arrow's values?
    real_parse = sparkify_duckdb.EventJudge._parse_block

    def parse_block(self, data, block):
        result = real_parse(self, data, block)
        if block.num_rows <= block_lines:
            parsed_blocks.append(result is not None)
        return result

    monkeypatch.setattr(sparkify_duckdb.EventJudge, "_parse_block", parse_block)
    lines = _corrupted_log(store, seed, events=2_500, rate=rate)
    # The file's frame varies too: a byte-order mark, blank lines, CRLF endings, no final newline.
    rng = random.Random(seed)
    for _ in range(5):
        lines.insert(rng.randrange(len(lines)), rng.choice([b"", b"   ", b"\r"]))
    content = b"\n".join(lines)
    if seed == 1:
        content = b"\xef\xbb\xbf" + content + b"\n"
    if seed == 2:
        content = content.replace(b"}\n", b"}\r\n")
    store.write_bytes(log_key(DAY), content)
    # A second file of the same day: duplicates are per file, line numbers too.
    store.write_bytes(log_key(DAY).replace("-events", "-late"), b"\n".join(lines[:300]))
    fast_stats, slow_stats = _assert_same(store)
    assert (
        slow_stats.quarantined > 5 and slow_stats.repaired_values > 0
    )  # the corruptions are there
    if rate > 0.1:
        for reason in (
            "exact duplicate of line",
            "malformed JSON",
            "invalid UTF-8",
            "is outside the file's day",
            "is out of range",
            "NextSong event without",
            "over the 1,048,576-byte limit",
        ):
            assert any(reason in r.reason for r in slow_stats.rejected), reason  # fmt: skip
    # Lines SQL cannot judge exactly go to the rules; everything else stays in SQL.
    assert 0 < fast_stats.fallback_lines < 2 * rate * fast_stats.records
    assert per_line_files  # the corrupted file was judged line by line in SQL
    if rate < 0.1:  # ... only in the blocks that hold a bad line
        assert any(parsed_blocks) and not all(parsed_blocks)


def test_every_corruption_kind_alone_gives_the_same_books(store):
    """Each kind once between good lines, so a disagreement names the kind that caused it."""
    generate_sparkify(store, DAY, days=1, events_per_day=200, songs=50, seed=7)
    good = store.read_bytes(log_key(DAY)).splitlines()
    rng = random.Random(7)
    for kind, corrupt in sorted(CORRUPTIONS.items()):
        lines = [
            *good[:20],
            corrupt(good[20], rng),
            good[20],
            *good[21:40],
            good[5],
            good[5] + b" ",
        ]
        store.write_bytes(log_key(DAY), b"\n".join(lines))
        try:
            _assert_same(store)
        except AssertionError as exc:
            raise AssertionError(f"{kind}: {exc}") from exc


def test_clean_logs_never_leave_sql(store, per_line_files):
    """A clean generated day (logged-out visitors, double-encoded names, level changes) is parsed
    in one pass and judged by SQL alone, and gives exactly the rules' rows and repairs."""
    generate_sparkify(store, DAY, days=1, events_per_day=3_000, songs=200)
    fast_stats, slow_stats = _assert_same(store)
    assert fast_stats.fallback_lines == 0 and per_line_files == []
    assert slow_stats.repaired_values > 0 and slow_stats.loaded == 3_000


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param(
            lambda good: [*good[:10], good[3], good[3] + b" \t", *good[10:]], id="repeats"
        ),
        pytest.param(lambda good: [*good[:10], b"", b"  ", *good[10:]], id="blank lines"),
        pytest.param(lambda good: [line + b"\r" for line in good], id="CRLF"),
        # Doubles written with up to 17 significant digits: both parsers must round every one
        # to the same double.
        pytest.param(
            lambda good: [
                _set(
                    line,
                    length=random.Random(i).uniform(1e-3, 86_400.0),
                    registration=random.Random(-i).uniform(9.5e11, 4.1e12),
                )
                for i, line in enumerate(good)
            ],
            id="full-precision doubles",
        ),
        pytest.param(
            lambda good: [*good[:5], _set(good[5], ts=DAY_MS - 1), *good[6:]], id="another day"
        ),
        pytest.param(
            lambda good: [*good[:5], _set(good[5], page="NextSong", artist=None), *good[6:]],
            id="NextSong without artist",
        ),
    ],
)
def test_what_sql_decides_alone_keeps_the_file_in_one_pass(store, per_line_files, frame):
    """Repeated lines, blank lines, CRLF endings, events of another day, incomplete plays: SQL
    gives their verdicts itself, in the one-pass stage, with the rules' books."""
    generate_sparkify(store, DAY, days=1, events_per_day=300, songs=50, seed=11)
    good = store.read_bytes(log_key(DAY)).splitlines()
    store.write_bytes(log_key(DAY), b"\n".join(frame(good)))
    fast_stats, _ = _assert_same(store)
    assert fast_stats.fallback_lines == 0 and per_line_files == []


def test_duckdb_and_postgresql_warehouses_get_the_same_staged_and_quarantined_rows(
    store, warehouse, postgres_trust_server
):
    """The rows are judged in one place and every loader writes them: a corrupted day lands
    identically in the DuckDB warehouse and in PostgreSQL (through COPY)."""
    from music_dwh.resources.warehouse import Warehouse

    # Without NUL characters: the rules stage "\u0000", which PostgreSQL text cannot hold (a
    # known gap of the rules, the same on every path).
    lines = [
        line for line in _corrupted_log(store, 4, events=1_500, rate=0.1) if b"\\u0000" not in line
    ]
    store.write_bytes(log_key(DAY), b"\n".join(lines))
    postgres = Warehouse(url=postgres_trust_server.url(postgres_trust_server.create_database()))
    columns = ", ".join(staging.EVENTS_SCHEMA.names[:-1])  # loaded_at differs per load
    tables = {}
    for name, wh in (("duckdb", warehouse), ("postgres", postgres)):
        with wh.session() as s:
            stats = staging.load_events_day(store, s, DAY, threshold=1.0)
            tables[name] = (
                s.query(f"select {columns} from sparkify.staging_events order by source_line"),
                s.query(
                    "select line_number, reason, raw_text from sparkify.quarantine order by line_number"
                ),
            )
        assert stats.quarantined > 50 and stats.reconciles
    assert tables["duckdb"] == tables["postgres"]
    assert (
        len(tables["duckdb"][0]) == stats.loaded and len(tables["duckdb"][1]) == stats.quarantined
    )
