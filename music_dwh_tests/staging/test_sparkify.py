"""Sparkify staging: every raw record is staged or quarantined with its reason, and the counts
reconcile. Each bad-input case feeds a real file through a real DuckDB warehouse."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from music_dwh.staging import sparkify as staging
from music_dwh.staging.common import QuarantineThresholdExceeded

DAY = dt.date(2018, 11, 1)
DAY_MS = int(dt.datetime(2018, 11, 1, tzinfo=dt.UTC).timestamp() * 1000)
LOG_KEY = "sparkify/log_data/2018/11/2018-11-01-events.json"
SECONDS = "more than 0 and at most 86,400 seconds (one day)"
EPOCH_MS = "epoch milliseconds 946,684,800,000 to 4,102,444,799,999: 2000-01-01 to 2099-12-31 UTC"
COUNTER = "0 to 2,147,483,647"


def event(**overrides) -> dict:
    base = {
        "artist": "Des'ree",
        "auth": "Logged In",
        "firstName": "Kaylee",
        "gender": "F",
        "itemInSession": 1,
        "lastName": "Summers",
        "length": 246.30812,
        "level": "free",
        "location": "Phoenix-Mesa-Scottsdale, AZ",
        "method": "PUT",
        "page": "NextSong",
        "registration": 1540344794796.0,
        "sessionId": 139,
        "song": "You Gotta Be",
        "status": 200,
        "ts": DAY_MS + 3_600_000,
        "userAgent": '"Mozilla/5.0"',
        "userId": "8",
    }
    base.update(overrides)
    return base


def line(**overrides) -> bytes:
    return json.dumps(event(**overrides)).encode()


def load(store, warehouse, content: bytes | None, threshold: float = 1.0):
    if content is not None:
        store.write_bytes(LOG_KEY, content)
    with warehouse.session() as s:
        stats = staging.load_events_day(store, s, DAY, threshold)
        staged = s.query(
            "select source_line, userid, song, artist from sparkify.staging_events order by source_line"
        )
        quarantined = s.query(
            "select line_number, reason, raw_text from sparkify.quarantine "
            "where target_table = 'staging_events' order by line_number"
        )
    assert stats.reconciles, "raw records must equal staged + quarantined"
    assert stats.records == len(staged) + len(quarantined)
    return stats, staged, quarantined


def test_good_events_are_staged_with_lineage(store, warehouse):
    good = b"\n".join(line(itemInSession=i, ts=DAY_MS + i) for i in range(3))
    stats, staged, quarantined = load(store, warehouse, good)
    assert [r[0] for r in staged] == [1, 2, 3]
    assert quarantined == []
    assert (stats.files, stats.records, stats.loaded) == (1, 3, 3)


@pytest.mark.parametrize(
    "bad, reason",
    [
        (b'{"artist": "x", "auth": "Logged In", "ts": 15411', "malformed JSON"),
        (b"[1, 2, 3]", "JSON value is list, expected an object"),
        (b'"just text"', "JSON value is str, expected an object"),
        (line(ts="1541106106796"), "field 'ts': expected an integer, got str"),
        (line(sessionId="139"), "field 'sessionId': expected an integer, got str"),
        (line(sessionId=1.5), "field 'sessionId': expected an integer, got 1.5"),
        (line(userId="abc"), "field 'userId': expected a numeric user id"),
        (line(length="long"), "field 'length': expected a number"),
        (
            json.dumps({k: v for k, v in event().items() if k != "page"}).encode(),
            "field 'page' is missing or null",
        ),
        (line(ts=None), "field 'ts' is missing or null"),
        (line(ts=DAY_MS - 1), "outside the file's day 2018-11-01"),
        (line(ts=DAY_MS + 86_400_000), "outside the file's day 2018-11-01"),
        (line(song=None), "NextSong event without song"),
        (line(song="a\x00b"), "field 'song': text contains a NUL character (U+0000), which"),
        (b'{"artist": "\xff\xfe", "ts": 1}', "invalid UTF-8 at byte"),
        # Physical ranges: values no real event can have, each named with its accepted range.
        (line(length=1e308), f"field 'length': 1e+308 is out of range (accepted: {SECONDS})"),
        (line(length=-1.0), f"field 'length': -1.0 is out of range (accepted: {SECONDS})"),
        (line(length=0), f"field 'length': 0 is out of range (accepted: {SECONDS})"),
        (line(length=86_400.001), "field 'length': 86400.001 is out of range"),
        (
            line(length=1.5).replace(b"1.5", b"1e999"),
            "malformed JSON",
        ),  # infinite: not a JSON double
        (line(ts=1e308), f"field 'ts': 1e+308 is out of range (accepted: {EPOCH_MS})"),
        (line(ts=-1), f"field 'ts': -1 is out of range (accepted: {EPOCH_MS})"),
        (line(ts=4_102_444_800_000), "field 'ts': 4102444800000 is out of range"),  # 2100-01-01
        (
            line(registration=1e20),
            f"field 'registration': 1e+20 is out of range (accepted: {EPOCH_MS})",
        ),
        (line(registration=-5.0), "field 'registration': -5.0 is out of range"),
        (
            line(itemInSession=-1),
            f"field 'itemInSession': -1 is out of range (accepted: {COUNTER})",
        ),
        (line(itemInSession=2**31), "field 'itemInSession': 2147483648 is out of range"),
        (
            line(sessionId=2**64 - 1),
            f"field 'sessionId': 18446744073709551615 is out of range (accepted: {COUNTER})",
        ),
        (line(sessionId=1e300), "field 'sessionId': 1e+300 is out of range"),
        (
            line(status=999),
            "field 'status': 999 is out of range (accepted: an HTTP status, 100 to 599)",
        ),
        (line(status=-200), "field 'status': -200 is out of range"),
        (
            line(userId="99999999999999999999"),
            "field 'userId': '99999999999999999999' is out of range",
        ),
        (line(userId=2**31), f"field 'userId': 2147483648 is out of range (accepted: {COUNTER})"),
    ],
)
def test_bad_records_are_quarantined_with_their_reason(store, warehouse, bad, reason):
    content = line(itemInSession=0) + b"\n" + bad + b"\n" + line(itemInSession=2)
    stats, staged, quarantined = load(store, warehouse, content)
    assert [r[0] for r in staged] == [1, 3]
    assert len(quarantined) == 1
    number, got_reason, raw = quarantined[0]
    assert number == 2
    assert reason in got_reason
    assert raw == bad.decode("utf-8", errors="replace")


def test_exact_duplicates_are_quarantined_pointing_at_the_first(store, warehouse):
    content = b"\n".join([line(), line(itemInSession=2), line()])
    _, staged, quarantined = load(store, warehouse, content)
    assert [r[0] for r in staged] == [1, 2]
    assert [(n, reason) for n, reason, _ in quarantined] == [(3, "exact duplicate of line 1")]


def test_a_ten_megabyte_line_is_quarantined_without_parsing(store, warehouse):
    huge = b'{"artist": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    _, staged, quarantined = load(store, warehouse, line() + b"\n" + huge)
    assert len(staged) == 1
    assert "over the 1,048,576-byte limit" in quarantined[0][1]
    assert len(quarantined[0][2]) < 3000  # the raw text kept is cut, and says so
    assert "[cut: 10,485,7" in quarantined[0][2]


def test_bom_blank_lines_and_missing_final_newline(store, warehouse):
    content = b"\xef\xbb\xbf" + line(itemInSession=0) + b"\n\n   \n" + line(itemInSession=1)
    stats, staged, quarantined = load(store, warehouse, content)
    assert [r[0] for r in staged] == [1, 4]
    assert stats.records == 2 and quarantined == []


def test_empty_file_and_missing_file_are_empty_partitions(store, warehouse):
    stats, staged, _ = load(store, warehouse, b"")
    assert (stats.files, stats.records, staged) == (1, 0, [])
    store.delete_keys([o.key for o in store.list("sparkify/log_data/")])
    stats, staged, _ = load(store, warehouse, None)
    assert (stats.files, stats.records, staged) == (0, 0, [])


def test_logged_out_events_are_staged_without_a_user(store, warehouse):
    logged_out = line(
        userId="",
        auth="Logged Out",
        page="Home",
        song=None,
        artist=None,
        length=None,
        firstName=None,
        lastName=None,
    )
    _, staged, quarantined = load(store, warehouse, logged_out)
    assert staged == [(1, None, None, None)] and quarantined == []


def test_double_encoded_text_is_repaired_and_counted(store, warehouse):
    mojibake = "Björk".encode().decode("latin-1").encode().decode("latin-1")
    assert mojibake == "Bj\u00c3\u0083\u00c2\u00b6rk"  # as the public sample has it
    content = (
        line(artist=mojibake, song="J\u00c3\u0083\u00c2\u00b3ga", itemInSession=0)
        + b"\n"
        + line(artist="Sigur R\u00f3s", itemInSession=1)
    )  # already correct: left alone
    stats, staged, _ = load(store, warehouse, content)
    assert [(r[2], r[3]) for r in staged] == [("Jóga", "Björk"), ("You Gotta Be", "Sigur Rós")]
    assert stats.repaired_values == 2


def test_reloading_a_day_replaces_rows_and_quarantine(store, warehouse):
    load(store, warehouse, line(itemInSession=0) + b"\nnot json")
    _, staged, quarantined = load(store, warehouse, line(itemInSession=5))
    assert [r[0] for r in staged] == [1] and quarantined == []


def test_too_many_bad_records_fail_the_day_and_keep_the_old_rows(store, warehouse):
    load(store, warehouse, line(itemInSession=0))
    store.write_bytes(LOG_KEY, line(itemInSession=1) + b"\nbad\nworse")
    with warehouse.session() as s:
        with pytest.raises(QuarantineThresholdExceeded) as info:
            staging.load_events_day(store, s, DAY, threshold=0.05)
        assert s.query("select iteminsession from sparkify.staging_events") == [(0,)]
        assert s.query("select count(*) from sparkify.quarantine")[0][0] == 0
    message = str(info.value)
    assert "2 of 3 raw records (66.7%)" in message
    assert f"{LOG_KEY} line 2: malformed JSON" in message
    assert "MUSIC_DWH_QUARANTINE_THRESHOLD" in message


def test_a_run_of_days_shares_transactions_reported_day_by_day(store, warehouse, monkeypatch):
    days = [DAY + dt.timedelta(days=n) for n in range(4)]
    keys = [f"sparkify/log_data/2018/11/{d:%Y-%m-%d}-events.json" for d in days]

    def deliver(n: int, body: bytes) -> None:
        store.write_bytes(keys[n], body)

    def good(n: int, items: range) -> bytes:
        return b"\n".join(line(itemInSession=i, ts=DAY_MS + n * 86_400_000 + i) for i in items)

    for n in range(4):
        deliver(n, good(n, range(3)))
    deliver(1, good(1, range(1)) + b"\nnot json")
    seen = []
    with warehouse.session() as s:
        stats = staging.load_events_days(
            store, s, days, 1.0, on_day=lambda i, st: seen.append((i, st.loaded))
        )
        per_day = s.query(
            "select partition_date, count(*) from sparkify.staging_events group by 1 order by 1"
        )
    assert seen == [(0, 3), (1, 1), (2, 3), (3, 3)], "progress once per day, in order, as written"
    assert [(st.records, st.loaded, st.quarantined) for st in stats][:2] == [(3, 3, 0), (2, 1, 1)]
    assert per_day == [(days[0], 3), (days[1], 1), (days[2], 3), (days[3], 3)]

    # The first day goes alone, the next ones share a transaction (2 records a day here, 4 at
    # most a transaction: days 2-3, then day 4). Day 3 now fails its threshold: day 2 rolls
    # back with it, day 1 (committed before) and day 4 (never written) keep their rows.
    monkeypatch.setattr(staging, "TRANSACTION_RECORDS", 4)
    for n in range(4):
        deliver(n, good(n, range(10, 12)))
    deliver(2, b"bad\nworse\n" + good(2, range(10, 11)))
    with warehouse.session() as s:
        with pytest.raises(
            QuarantineThresholdExceeded, match="staging_events for 2018-11-03"
        ) as info:
            staging.load_events_days(store, s, days, 0.05)
        kept = s.query(
            "select partition_date, min(iteminsession), count(*) from sparkify.staging_events "
            "group by 1 order by 1"
        )
    assert info.value.transaction_days == days[1:3] and info.value.later_days == 1
    assert str(info.value).splitlines()[0] == (
        "staging_events for 2018-11-03: 2 of 3 raw records (66.7%) are bad, more than the 5% "
        "allowed (MUSIC_DWH_QUARANTINE_THRESHOLD); not staged, their previous rows kept: "
        "2018-11-03, 2018-11-02 (rolled back with it: the same transaction) and the 1 later "
        "day(s) of the run (not tried)."
    )
    assert kept == [(days[0], 10, 2), (days[1], 0, 1), (days[2], 0, 3), (days[3], 0, 3)]


SONG = {
    "num_songs": 1,
    "artist_id": "ARD7TVE1187B99BFB1",
    "artist_latitude": None,
    "artist_longitude": None,
    "artist_location": "California - LA",
    "artist_name": "Casual",
    "song_id": "SOMZWCG12A8C13C480",
    "title": "I Didn't Mean To",
    "duration": 218.93179,
    "year": 0,
}


def test_song_catalogue_duplicates_and_conflicts(store, warehouse):
    record = json.dumps(SONG)
    store.write_bytes(
        "sparkify/song_data/A/A/A/TRAAAAW128F429D538.json", f"{record}\n{record}".encode()
    )
    store.write_bytes(
        "sparkify/song_data/A/A/B/TRAABBB128F429D538.json",
        json.dumps({**SONG, "title": "Other title"}).encode(),
    )
    store.write_bytes(
        "sparkify/song_data/A/A/C/TRAACCC128F429D538.json",
        json.dumps({**SONG, "song_id": "SOOTHER12A8C13C480", "year": "1999"}).encode(),
    )
    with warehouse.session() as s:
        stats = staging.load_song_catalogue(store, s, threshold=1.0)
        staged = s.query("select song_id, title, year from sparkify.staging_songs")
        reasons = [
            r[0]
            for r in s.query(
                "select reason from sparkify.quarantine where target_table = 'staging_songs' order by source_file"
            )
        ]
    assert staged == [("SOMZWCG12A8C13C480", "I Didn't Mean To", 0)]
    assert stats.records == 4 and stats.reconciles
    assert (
        reasons[0] == "exact duplicate of sparkify/song_data/A/A/A/TRAAAAW128F429D538.json line 1"
    )
    assert reasons[1].startswith("song_id SOMZWCG12A8C13C480 was already loaded from")
    assert reasons[2] == "field 'year': expected an integer, got str '1999'"


@pytest.mark.parametrize(
    "overrides, reason",
    [
        (
            {"year": 20000},
            "field 'year': 20000 is out of range (accepted: 0 (unknown) or 1800 to 2100)",
        ),
        ({"year": 1799}, "field 'year': 1799 is out of range"),
        ({"year": -1}, "field 'year': -1 is out of range"),
        ({"duration": 1e308}, f"field 'duration': 1e+308 is out of range (accepted: {SECONDS})"),
        ({"duration": 0.0}, "field 'duration': 0.0 is out of range"),
        ({"duration": -218.9}, "field 'duration': -218.9 is out of range"),
        (
            {"artist_latitude": 90.5, "artist_longitude": 0.0},
            "field 'artist_latitude': 90.5 is out of range (accepted: -90 to 90 degrees)",
        ),
        (
            {"artist_latitude": 0.0, "artist_longitude": -180.01},
            "field 'artist_longitude': -180.01 is out of range (accepted: -180 to 180 degrees)",
        ),
        (
            {"artist_latitude": 1e308, "artist_longitude": 0.0},
            "field 'artist_latitude': 1e+308 is out of range",
        ),
        (
            {"num_songs": 2**63},
            f"field 'num_songs': 9223372036854775808 is out of range (accepted: {COUNTER})",
        ),
        ({"num_songs": -1}, "field 'num_songs': -1 is out of range"),
    ],
)
def test_song_records_out_of_their_physical_range_are_quarantined(
    store, warehouse, overrides, reason
):
    store.write_bytes("sparkify/song_data/A/A/A/TRAAAAW128F429D538.json", json.dumps(SONG).encode())
    bad = json.dumps({**SONG, "song_id": "SOBADBADBADBADBAD1", **overrides})
    store.write_bytes("sparkify/song_data/A/A/B/TRAABBB128F429D538.json", bad.encode())
    with warehouse.session() as s:
        stats = staging.load_song_catalogue(store, s, threshold=1.0)
        staged = s.query("select song_id from sparkify.staging_songs")
        quarantined = s.query(
            "select source_file, line_number, reason, raw_text from sparkify.quarantine "
            "where target_table = 'staging_songs'"
        )
    assert staged == [(SONG["song_id"],)]
    assert quarantined == [
        ("sparkify/song_data/A/A/B/TRAABBB128F429D538.json", 1, quarantined[0][2], bad)
    ]
    assert quarantined[0][2].startswith(reason)
    assert stats.records == 2 and stats.reconciles


def test_song_records_at_the_edges_of_their_ranges_are_staged(store, warehouse):
    edges = [
        {
            "year": 0,
            "duration": 5e-324,
            "artist_latitude": -90.0,
            "artist_longitude": -180.0,
            "num_songs": 0,
        },
        {
            "year": 1800,
            "duration": 86_400.0,
            "artist_latitude": 90.0,
            "artist_longitude": 180.0,
            "num_songs": 2**31 - 1,
        },
        {
            "year": 2100,
            "duration": 1.0,
            "artist_latitude": None,
            "artist_longitude": None,
            "num_songs": None,
        },
    ]
    for i, overrides in enumerate(edges):
        record = {**SONG, "song_id": f"SOEDGE{i:012d}", **overrides}
        store.write_bytes(f"sparkify/song_data/A/A/{i}/TRAA{i}.json", json.dumps(record).encode())
    with warehouse.session() as s:
        stats = staging.load_song_catalogue(store, s, threshold=1.0)
        staged = s.query("select year, duration from sparkify.staging_songs order by song_id")
    assert stats.quarantined == 0 and stats.loaded == 3
    assert staged == [(0, 5e-324), (1800, 86_400.0), (2100, 1.0)]


def test_log_days_lists_only_dated_files(store):
    store.write_bytes("sparkify/log_data/2018/11/2018-11-03-events.json", b"")
    store.write_bytes("sparkify/log_data/2018/11/2018-11-01-events.json", b"")
    store.write_bytes("sparkify/log_data/2018/11/README.txt", b"")
    assert staging.log_days(store) == [dt.date(2018, 11, 1), dt.date(2018, 11, 3)]


# ---------------------------------------------------------------------------- the SQL path
# Values the SQL path's JSON readers parse but no real event can have, and values exactly at the edges.
OUT_OF_RANGE = [
    (line(length=1e308), False),
    (line(length=0.0), False),
    (line(length=-0.0), False),
    (line(length=86_400.000001), False),
    (line(registration=946_684_799_999.0), False),
    (line(registration=4_102_444_800_000.0), False),
    (line(itemInSession=-1), False),
    (line(itemInSession=2**31), False),
    (line(sessionId=-1), False),
    (line(sessionId=2**31), False),
    (line(status=99), False),
    (line(status=600), False),
    (line(userId="2147483648"), False),
]
AT_THE_EDGE = [
    (line(length=5e-324, itemInSession=0, sessionId=0, status=100, userId="0"), True),
    (
        line(
            length=86_400.0,
            itemInSession=2**31 - 1,
            sessionId=2**31 - 1,
            status=599,
            userId=str(2**31 - 1),
        ),
        True,
    ),
    (line(registration=946_684_800_000.0), True),
    (line(registration=4_102_444_799_999.0), True),
    (line(length=None, page="Home", song=None, artist=None, registration=None, status=None), True),
]


def _batches(store, fast: bool):
    import pyarrow as pa

    from music_dwh.staging.common import LoadStats

    loaded_at = dt.datetime(2026, 1, 1)
    stats = LoadStats(target_table="staging_events", partition_date=DAY)
    table = pa.Table.from_batches(list(staging.event_batches(store, DAY, stats, loaded_at, fast=fast)),
                                  schema=staging.EVENTS_SCHEMA).sort_by("source_line")  # fmt: skip
    return table, stats


def _books(stats):
    return (stats.records, stats.loaded, stats.repaired_values,
            [(r.line_number, r.reason, r.raw_text) for r in stats.rejected])  # fmt: skip


def test_sql_and_line_by_line_parsing_give_the_same_rows_on_generated_logs(store):
    """A generated day has every quirk of the public sample (logged-out visitors with empty
    userId, double-encoded names, paid/free moves): the SQL path must give exactly what the
    line-by-line rules give, and must judge every line itself."""
    from music_dwh.datagen.sparkify import generate_sparkify

    generate_sparkify(store, DAY, days=1, events_per_day=3_000, songs=200)
    slow, slow_stats = _batches(store, fast=False)
    fast, fast_stats = _batches(store, fast=True)
    assert fast_stats.fallback_lines == 0  # no line left to the rules
    assert (
        slow_stats.repaired_values > 0 and slow.column("userid").null_count > 0
    )  # the quirks are there
    assert fast.equals(slow)
    assert _books(fast_stats) == _books(slow_stats)


@pytest.mark.parametrize(
    "odd, accepted",
    [
        (b'{"ts": NaN}', False),  # Arrow reads NaN; JSON does not allow it
        (line(length=1.5).replace(b"1.5", b"1e999"), False),  # infinite
        (line() + b" " + line(itemInSession=2), False),  # two objects on one line
        (line(itemInSession=True), False),
        (line(userId="8x"), False),
        (line(ts=DAY_MS - 1), False),
        (line(song=None), False),
        (line(auth=None), False),
        (b"[1, 2]", False),
        (
            line()[:-1] + f', "ts": {DAY_MS + 99}}}'.encode(),
            True,
        ),  # a duplicate key: the last one counts, as in orjson
        (line(artist="Bjork").replace(b"Bjork", b"Bj\xf6rk"), False),  # not UTF-8
        (
            line(userId=8),
            True,
        ),  # SQL leaves a number for the text column to the rules, which accept it
        (line(itemInSession=1.0), True),  # and 1.0 for an integer
        # Physical ranges: the readers take each of these; the SQL range checks leave the line to the rules.
        *OUT_OF_RANGE,
        *AT_THE_EDGE,
        (line(ts=1e308), False),  # a double for the integer column
        (line(sessionId=2**64 - 1), False),  # beyond int64
        (line(userId="99999999999999999999"), False),  # beyond int64: the cast fails
    ],
)
def test_an_odd_line_gets_the_same_books_on_both_paths(store, odd, accepted):
    """Whatever the SQL path's readers would accept or reject, an odd line ends as the
    line-by-line rules say: the same rows, quarantine reasons and line numbers either way."""
    lines = [
        line(itemInSession=i, ts=DAY_MS + i, artist="BjÃ\x83Â¶rk" if i % 3 else "Abba")
        for i in range(10)
    ]
    lines.insert(6, odd)
    store.write_bytes(LOG_KEY, b"\n".join(lines) + b"\n")
    slow, slow_stats = _batches(store, fast=False)
    fast, fast_stats = _batches(store, fast=True)
    assert fast.equals(slow)
    assert _books(fast_stats) == _books(slow_stats)
    assert (slow_stats.loaded, slow_stats.quarantined) == ((11, 0) if accepted else (10, 1))


@pytest.mark.parametrize("odd, accepted", OUT_OF_RANGE + AT_THE_EDGE)
def test_the_sql_path_checks_physical_ranges_itself(store, odd, accepted):
    """The readers take every one of these lines: the SQL range checks must keep in-range lines
    in SQL and leave exactly the out-of-range ones to the rules, which name the field."""
    lines = [line(itemInSession=i, ts=DAY_MS + i) for i in range(3)] + [odd]
    store.write_bytes(LOG_KEY, b"\n".join(lines))
    _, stats = _batches(store, fast=True)
    assert (stats.records, stats.loaded) == ((4, 4) if accepted else (4, 3))
    assert stats.fallback_lines == (0 if accepted else 1)
    assert accepted or "is out of range" in stats.rejected[0].reason


def test_nul_characters_are_quarantined_alike_on_duckdb_and_postgresql(
    store, warehouse, postgres_trust_server
):
    """PostgreSQL (and Redshift) text cannot hold U+0000: a text value with one is quarantined
    with a reason on every warehouse, and a raw NUL byte is kept as U+FFFD in the raw text, so a
    day with them loads everywhere with the same rows instead of failing in PostgreSQL's COPY."""
    from music_dwh.resources.warehouse import Warehouse

    good = [line(itemInSession=i, ts=DAY_MS + i) for i in range(3)]
    escaped = line(itemInSession=7, ts=DAY_MS + 7, artist="A\x00B")  # JSON's \u0000
    raw_nul = line(itemInSession=8, ts=DAY_MS + 8).replace(b'"Logged In"', b'"Logged\x00In"')
    store.write_bytes(
        "sparkify/log_data/2018/11/2018-11-01-events.json", b"\n".join([*good, escaped, raw_nul])
    )
    store.write_bytes(
        "sparkify/song_data/A/A/A/TRAAAAW128F429D538.json",
        json.dumps({**SONG, "title": "Bad\x00Title"}).encode(),
    )
    postgres = Warehouse(url=postgres_trust_server.url(postgres_trust_server.create_database()))
    results = {}
    for name, wh in (("duckdb", warehouse), ("postgres", postgres)):
        with wh.session() as s:
            (events,) = staging.load_events_days(store, s, [DAY], threshold=1.0)
            songs = staging.load_song_catalogue(store, s, threshold=1.0)
            results[name] = (
                s.query("select source_line, artist from sparkify.staging_events order by 1"),
                s.query(
                    "select target_table, source_file, line_number, reason, raw_text "
                    "from sparkify.quarantine order by target_table, line_number"
                ),
            )
        assert (events.loaded, events.quarantined, songs.loaded, songs.quarantined) == (3, 2, 0, 1)
    assert results["duckdb"] == results["postgres"]
    staged, quarantined = results["postgres"]
    assert [r[0] for r in staged] == [1, 2, 3]
    reasons = {(r[0], r[2]): (r[3], r[4]) for r in quarantined}
    assert reasons[("staging_events", 4)][0] == (
        "field 'artist': text contains a NUL character (U+0000), which PostgreSQL and Redshift "
        "cannot store"
    )
    assert reasons[("staging_events", 5)][0].startswith("malformed JSON")
    assert '"Logged\ufffdIn"' in reasons[("staging_events", 5)][1]
    assert reasons[("staging_songs", 1)][0].startswith("field 'title': text contains a NUL")
