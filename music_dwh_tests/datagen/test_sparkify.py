"""Tests of the Sparkify generator: format of the files it writes and every reproduced quirk.

One small dataset (3 days x 1,000 events, 80 songs) is generated once per module and read
back through the raw store; each test checks one property of it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import ftfy
import pytest

from music_dwh.datagen import sparkify
from music_dwh.datagen.sparkify import (
    SparkifyGenerationSummary,
    build_catalogue,
    double_encode,
    generate_sparkify,
    normalize_name,
)
from music_dwh.resources.raw_store import RawStore, open_raw_store

START = dt.date(2018, 11, 1)
DAYS = 3
EVENTS_PER_DAY = 1000
SONGS = 80
SAMPLE = Path("/work/shared/data/sparkify")

EXPECTED_KEYS = [
    "artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level",
    "location", "method", "page", "registration", "sessionId", "song", "status", "ts",
    "userAgent", "userId",
]  # fmt: skip
ALL_PAGES = {
    "NextSong", "Home", "Login", "Logout", "Settings", "Save Settings", "Help", "About",
    "Upgrade", "Downgrade", "Submit Upgrade", "Submit Downgrade", "Error",
}  # fmt: skip
LOG_KEY_RE = re.compile(r"sparkify/log_data/(\d{4})/(\d{2})/(\d{4}-\d{2}-\d{2})-events\.json")
SONG_KEY_RE = re.compile(r"sparkify/song_data/([A-Z])/([A-Z])/([A-Z])/(TR[A-Z0-9]{16})\.json")
ID_RE = {"song_id": re.compile(r"SO[A-Z0-9]{16}"), "artist_id": re.compile(r"AR[A-Z0-9]{16}")}


def _sample_serialize(record: dict) -> str:
    """How the public sample writes one event line."""
    return json.dumps(record, separators=(",", ":")).replace("/", "\\/")


def _generate(root: Path, **overrides) -> tuple[RawStore, SparkifyGenerationSummary]:
    args = dict(start=START, days=DAYS, events_per_day=EVENTS_PER_DAY, songs=SONGS)
    args.update(overrides)
    store = open_raw_store(str(root))
    return store, generate_sparkify(store, **args)


def _snapshot(store: RawStore) -> dict[str, bytes]:
    """Every data file; not the generator's manifest, which records each file's version (its
    mtime in a folder) rather than data."""
    return {
        o.key: store.read_bytes(o.key)
        for o in store.list("")
        if o.key != sparkify.WRITER.manifest_key
    }


def _song_keys(files: dict[str, bytes]) -> set[str]:
    return {k for k in files if k.startswith("sparkify/song_data/")}


@dataclass
class Dataset:
    store: RawStore
    summary: SparkifyGenerationSummary
    progress: list[str]
    files: dict[str, bytes]
    logs: dict[str, list[dict]]  # day -> events, file order
    log_lines: dict[str, list[str]]
    song_files: dict[str, list[str]]  # key -> record lines
    songs: dict[str, dict]  # song_id -> record
    truth: dict[str, list[dict]]  # day -> rows

    @property
    def events(self) -> list[dict]:
        return [e for day in sorted(self.logs) for e in self.logs[day]]

    def plays(self) -> list[tuple[dict, str]]:
        """Every NextSong event with its true song_id ("" = not in the catalogue)."""
        truth = {
            (int(r["session_id"]), int(r["item_in_session"])): r["song_id"]
            for rows in self.truth.values()
            for r in rows
        }
        return [
            (e, truth[(e["sessionId"], e["itemInSession"])])
            for e in self.events
            if e["page"] == "NextSong"
        ]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Dataset:
    messages: list[str] = []
    store, summary = _generate(tmp_path_factory.mktemp("raw"), progress=messages.append)
    files = _snapshot(store)
    logs, log_lines, song_files, songs, truth = {}, {}, {}, {}, {}
    for key, raw in files.items():
        text = raw.decode("ascii")
        if m := LOG_KEY_RE.fullmatch(key):
            log_lines[m.group(3)] = text.split("\n")
            logs[m.group(3)] = [json.loads(line) for line in log_lines[m.group(3)]]
        elif SONG_KEY_RE.fullmatch(key):
            song_files[key] = text.split("\n")
            for line in song_files[key]:
                record = json.loads(line)
                songs[record["song_id"]] = record
        elif m := re.fullmatch(r"_truth/sparkify/plays/(\d{4}-\d{2}-\d{2})\.csv", key):
            header, *rows = text.rstrip("\n").split("\n")
            names = header.split(",")
            truth[m.group(1)] = [dict(zip(names, row.split(","), strict=True)) for row in rows]
    return Dataset(store, summary, messages, files, logs, log_lines, song_files, songs, truth)


# ------------------------------------------------------------------------------ layout
def test_every_file_has_a_known_key(data):
    days = {(START + dt.timedelta(days=i)).isoformat() for i in range(DAYS)}
    assert set(data.logs) == days
    assert set(data.truth) == days
    assert all(
        LOG_KEY_RE.fullmatch(k)
        or SONG_KEY_RE.fullmatch(k)
        or re.fullmatch(r"_truth/sparkify/plays/\d{4}-\d{2}-\d{2}\.csv", k)
        for k in data.files
    )
    assert "sparkify/log_data/2018/11/2018-11-02-events.json" in data.files
    assert "_truth/sparkify/plays/2018-11-02.csv" in data.files


def test_song_files_sit_under_the_3rd_4th_5th_characters_of_the_track_id(data):
    assert data.song_files
    for key in data.song_files:
        a, b, c, track_id = SONG_KEY_RE.fullmatch(key).groups()
        assert (a, b, c) == (track_id[2], track_id[3], track_id[4])


def test_summary_matches_what_was_written(data):
    s = data.summary
    assert s.days == DAYS
    assert s.events == len(data.events) == DAYS * EVENTS_PER_DAY
    assert s.plays == sum(len(rows) for rows in data.truth.values())
    assert s.songs == len(data.songs) == SONGS
    assert s.song_records == sum(len(lines) for lines in data.song_files.values())
    assert s.users == 20  # max(20, 1000 // 80)
    assert s.files == len(data.files)
    assert s.bytes == sum(len(raw) for raw in data.files.values())
    assert "3 days" in s.describe() and "3,000 events" in s.describe()


def test_progress_is_reported_once_per_day(data):
    assert data.progress == [
        f"{(START + dt.timedelta(days=i)).isoformat()}: 1,000 events" for i in range(DAYS)
    ]


# ------------------------------------------------------------------------------ log format
def test_log_lines_have_the_18_keys_in_the_sample_order(data):
    assert list(sparkify.LOG_KEYS) == EXPECTED_KEYS
    for event in data.events:
        assert list(event) == EXPECTED_KEYS


def test_log_files_are_written_byte_for_byte_like_the_sample(data):
    for day, lines in data.log_lines.items():
        raw = data.files[sparkify.log_key(dt.date.fromisoformat(day))]
        assert not raw.endswith(b"\n")
        assert raw.isascii()
        for line, event in zip(lines, data.logs[day], strict=True):
            assert line == _sample_serialize(event)  # compact, \uXXXX and \/ escapes
    all_text = "".join(data.log_lines[day][0] for day in data.log_lines)
    assert '"ts":' in all_text and '": ' not in all_text
    assert any("\\/" in line for lines in data.log_lines.values() for line in lines)


def test_log_field_types(data):
    for e in data.events:
        assert isinstance(e["userId"], str)
        assert type(e["ts"]) is int and type(e["sessionId"]) is int
        assert type(e["itemInSession"]) is int and type(e["status"]) is int
        assert e["level"] in ("free", "paid")
        if e["page"] == "NextSong":
            assert type(e["length"]) is float and e["artist"] and e["song"]
        else:
            assert e["length"] is None and e["artist"] is None and e["song"] is None
        if e["auth"] == "Logged In":
            assert e["userId"].isdigit()
            assert type(e["registration"]) is float and e["registration"] < e["ts"]
            assert e["gender"] in ("M", "F")
            assert re.fullmatch(r"[A-Za-z .'-]+, [A-Z]{2}(-[A-Z]{2})*", e["location"])
        else:
            assert e["auth"] == "Logged Out"
    raw = data.log_lines["2018-11-01"]
    assert any('"registration":15' in line and '.0,"sessionId"' in line for line in raw)


def test_status_and_method_follow_the_page(data):
    expected = {
        "NextSong": ("PUT", 200), "Logout": ("PUT", 307), "Login": ("PUT", 307),
        "Submit Upgrade": ("PUT", 307), "Submit Downgrade": ("PUT", 307),
        "Save Settings": ("PUT", 307), "Error": ("GET", 404),
    }  # fmt: skip
    for e in data.events:
        assert (e["method"], e["status"]) == expected.get(e["page"], ("GET", 200))


def test_page_mix_looks_like_the_app(data):
    events = data.events
    pages = Counter(e["page"] for e in events)
    assert set(pages) == ALL_PAGES
    assert 0.78 <= pages["NextSong"] / len(events) <= 0.88
    logged_out = [e for e in events if e["auth"] == "Logged Out"]
    assert 0.02 <= len(logged_out) / len(events) <= 0.05


def test_logged_out_events_hide_the_user(data):
    logged_out = [e for e in data.events if e["auth"] == "Logged Out"]
    assert logged_out
    for e in logged_out:
        assert e["userId"] == ""
        for key in ("firstName", "lastName", "gender", "location", "userAgent", "registration"):
            assert e[key] is None
        assert e["level"] in ("free", "paid")
        assert e["page"] in ("Home", "Login", "About", "Help")
    assert {e["page"] for e in logged_out} >= {"Home", "Login"}


# ------------------------------------------------------------------------------ users & time
def test_exactly_events_per_day_and_every_ts_inside_its_day(data):
    for day, events in data.logs.items():
        assert len(events) == EVENTS_PER_DAY
        start = int(dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC).timestamp() * 1000)
        assert all(start <= e["ts"] < start + 86_400_000 for e in events)
        assert [e["ts"] for e in events] == sorted(e["ts"] for e in events)


def test_sessions_count_items_from_zero_and_do_not_overlap(data):
    sessions: dict[int, list[dict]] = defaultdict(list)
    for e in data.events:
        sessions[e["sessionId"]].append(e)
    spans_by_user: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for events in sessions.values():
        assert [e["itemInSession"] for e in events] == list(range(len(events)))
        assert len({e["ts"] // 86_400_000 for e in events}) == 1  # never across midnight
        users = {e["userId"] for e in events if e["userId"]}
        assert len(users) <= 1
        if users:
            spans_by_user[users.pop()].append((events[0]["ts"], events[-1]["ts"]))
    assert len(sessions) > 50
    assert max(len(events) for events in sessions.values()) > 10
    for spans in spans_by_user.values():
        spans.sort()
        assert all(prev_end < start for (_, prev_end), (start, _) in pairwise(spans))


def test_user_attributes_are_consistent_and_realistic(data):
    profiles: dict[str, set] = defaultdict(set)
    for e in data.events:
        if e["userId"]:
            profiles[e["userId"]].add(
                (e["firstName"], e["lastName"], e["gender"], e["location"], e["userAgent"],
                 e["registration"])
            )  # fmt: skip
    assert 10 <= len(profiles) <= 20
    assert all(len(p) == 1 for p in profiles.values())
    agents = {next(iter(p))[4] for p in profiles.values()}
    assert any(a.startswith('"Mozilla/5.0') and a.endswith('"') for a in agents)
    assert '\\"Mozilla\\/5.0' in "".join(data.log_lines["2018-11-01"])


def test_submit_upgrade_and_downgrade_change_the_level_of_later_events(data):
    by_user: dict[str, list[dict]] = defaultdict(list)
    for e in data.events:
        if e["userId"]:
            by_user[e["userId"]].append(e)
    changed = set()
    for user, events in by_user.items():
        for prev, cur in pairwise(events):
            if prev["page"] == "Submit Upgrade":
                assert (prev["level"], cur["level"]) == ("free", "paid")
            elif prev["page"] == "Submit Downgrade":
                assert (prev["level"], cur["level"]) == ("paid", "free")
            else:
                assert prev["level"] == cur["level"]
            if prev["level"] != cur["level"]:
                changed.add(user)
    assert len(changed) >= 3


def test_users_parameter_sets_the_number_of_users(tmp_path):
    _, summary = _generate(tmp_path, days=1, events_per_day=300, users=7)
    store = open_raw_store(str(tmp_path))
    lines = store.read_bytes("sparkify/log_data/2018/11/2018-11-01-events.json").split(b"\n")
    user_ids = {json.loads(line)["userId"] for line in lines} - {""}
    assert summary.users == 7
    assert 1 < len(user_ids) <= 7


# ------------------------------------------------------------------------------ catalogue
def test_song_records_are_written_like_the_sample(data):
    for key, lines in data.song_files.items():
        assert not data.files[key].endswith(b"\n")
        for line in lines:
            record = json.loads(line)
            assert line == json.dumps(record)  # default separators, \u escapes
            assert list(record) == [
                "num_songs", "artist_id", "artist_latitude", "artist_longitude",
                "artist_location", "artist_name", "song_id", "title", "duration", "year",
            ]  # fmt: skip
            assert record["num_songs"] == 1
            assert ID_RE["song_id"].fullmatch(record["song_id"])
            assert ID_RE["artist_id"].fullmatch(record["artist_id"])
            assert re.fullmatch(r"\d+\.\d{5}", repr(record["duration"]))
            assert record["year"] == 0 or 1950 <= record["year"] <= 2018
            assert (record["artist_latitude"] is None) == (record["artist_longitude"] is None)


def test_catalogue_has_fewer_artists_than_songs_and_sparse_attributes(data):
    songs = list(data.songs.values())
    names_by_artist: dict[str, set[str]] = defaultdict(set)
    for s in songs:
        names_by_artist[s["artist_id"]].add(s["artist_name"])
    assert all(len(names) == 1 for names in names_by_artist.values())
    assert SONGS / 1.4 <= len(names_by_artist) <= SONGS / 1.05
    per_artist = Counter(s["artist_id"] for s in songs)
    assert max(per_artist.values()) >= 2
    assert 0.4 <= sum(s["year"] == 0 for s in songs) / len(songs) <= 0.8
    assert 0.3 <= sum(s["artist_latitude"] is None for s in songs) / len(songs) <= 0.7
    assert any(s["artist_location"] == "" for s in songs)
    assert any(s["artist_location"] and s["artist_latitude"] is None for s in songs)


def test_some_song_file_holds_the_same_record_twice(data):
    doubled = [lines for lines in data.song_files.values() if len(lines) == 2]
    assert doubled
    assert all(lines[0] == lines[1] for lines in doubled)


def test_some_song_is_delivered_as_two_track_files(data):
    files_by_song: dict[str, list[str]] = defaultdict(list)
    for key, lines in data.song_files.items():
        files_by_song[json.loads(lines[0])["song_id"]].append(key)
    twice = [keys for keys in files_by_song.values() if len(keys) > 1]
    assert twice
    for keys in twice:
        assert len({data.files[k].split(b"\n")[0] for k in keys}) == 1


def test_some_songs_are_versions_told_apart_only_by_duration(data):
    by_name: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in data.songs.values():
        by_name[(s["title"], s["artist_name"])].append(s)
    versions = [group for group in by_name.values() if len(group) > 1]
    assert versions
    for group in versions:
        assert len({s["song_id"] for s in group}) == len(group)
        assert len({s["duration"] for s in group}) == len(group)
        assert len({s["artist_id"] for s in group}) == 1


# ------------------------------------------------------------------------------ plays & truth
def test_truth_has_one_row_per_nextsong_event_in_file_order(data):
    for day, events in data.logs.items():
        plays = [e for e in events if e["page"] == "NextSong"]
        rows = data.truth[day]
        assert len(rows) == len(plays)
        for row, e in zip(rows, plays, strict=True):
            assert (int(row["ts"]), row["user_id"]) == (e["ts"], e["userId"])
            assert (int(row["session_id"]), int(row["item_in_session"])) == (
                e["sessionId"],
                e["itemInSession"],
            )
    raw = data.files["_truth/sparkify/plays/2018-11-01.csv"].decode()
    assert raw.startswith("ts,user_id,session_id,item_in_session,song_id\n")


def test_truth_song_ids_exist_and_a_share_of_plays_is_not_in_the_catalogue(data):
    plays = data.plays()
    known = [song_id for _, song_id in plays if song_id]
    assert set(known) <= set(data.songs)
    assert 0.22 <= 1 - len(known) / len(plays) <= 0.38
    assert len(set(known)) > SONGS / 4  # the whole catalogue is played, not a few hits


def test_played_length_is_the_true_songs_duration_and_names_match(data):
    for event, song_id in data.plays():
        if song_id:
            song = data.songs[song_id]
            assert event["length"] == song["duration"]
            assert normalize_name(ftfy.fix_text(event["song"])) == normalize_name(song["title"])
            assert normalize_name(ftfy.fix_text(event["artist"])) == normalize_name(
                song["artist_name"]
            )


def test_plays_outside_the_catalogue_never_match_it(data):
    catalogue = {
        (normalize_name(s["title"]), normalize_name(s["artist_name"]), s["duration"])
        for s in data.songs.values()
    }
    catalogue_artists = {normalize_name(s["artist_name"]) for s in data.songs.values()}
    unknown = [e for e, song_id in data.plays() if not song_id]
    assert unknown
    for e in unknown:
        key = (normalize_name(ftfy.fix_text(e["song"])), normalize_name(ftfy.fix_text(e["artist"])))
        assert (*key, e["length"]) not in catalogue
    # ...although some are by artists the catalogue knows (only the title tells them apart).
    assert any(normalize_name(ftfy.fix_text(e["artist"])) in catalogue_artists for e in unknown)


def test_about_a_tenth_of_catalogue_plays_are_spelled_differently(data):
    catalogue_plays = [(e, data.songs[s]) for e, s in data.plays() if s]
    variants = [
        (e, s)
        for e, s in catalogue_plays
        if (s["title"] + s["artist_name"]).isascii()
        and (e["song"], e["artist"]) != (s["title"], s["artist_name"])
    ]
    assert 0.05 <= len(variants) / len(catalogue_plays) <= 0.16
    kinds = Counter()
    for e, s in variants:
        for logged, true in ((e["song"], s["title"]), (e["artist"], s["artist_name"])):
            if logged != true:
                assert normalize_name(logged) == normalize_name(true)
                if logged.casefold() == true.casefold():
                    kinds["case"] += 1
                elif logged.split() == true.split():
                    kinds["whitespace"] += 1
                else:
                    kinds["punctuation"] += 1
    assert set(kinds) == {"case", "whitespace", "punctuation"}


def test_version_plays_are_resolved_by_duration(data):
    by_name: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in data.songs.values():
        by_name[(normalize_name(s["title"]), normalize_name(s["artist_name"]))].append(s)
    resolved = 0
    for e, song_id in data.plays():
        if not song_id:
            continue
        title, artist = ftfy.fix_text(e["song"]), ftfy.fix_text(e["artist"])
        candidates = by_name[(normalize_name(title), normalize_name(artist))]
        matches = [s["song_id"] for s in candidates if s["duration"] == e["length"]]
        assert matches == [song_id]
        resolved += len(candidates) > 1
    assert resolved > 0  # some plays were of a song with several versions


# ------------------------------------------------------------------------------ non-ASCII
def test_the_double_encoding_matches_the_public_sample():
    assert sparkify._log_json("Björk") == '"Bj\\u00c3\\u0083\\u00c2\\u00b6rk"'
    assert double_encode("Café") == "Caf\u00c3\u0083\u00c2\u00a9"
    assert double_encode("AC/DC") == "AC/DC"


def test_non_ascii_names_are_correct_in_song_data_and_double_encoded_in_logs(data):
    non_ascii = [s for s in data.songs.values() if not (s["title"] + s["artist_name"]).isascii()]
    assert non_ascii
    assert 0.02 <= len(non_ascii) / len(data.songs) <= 0.25
    song_raw = b"".join(raw for k, raw in data.files.items() if k.startswith("sparkify/song_data"))
    assert re.search(rb"\\u0[0-9a-f]{3}", song_raw)  # real characters, \u-escaped
    repaired = 0
    for e, song_id in data.plays():
        if not song_id:
            continue
        song = data.songs[song_id]
        for logged, true in ((e["song"], song["title"]), (e["artist"], song["artist_name"])):
            if not true.isascii():
                assert logged != true
                assert logged == double_encode(true)
                assert ftfy.fix_text(logged) == true
                repaired += 1
    assert repaired > 0
    log_raw = "".join(line for lines in data.log_lines.values() for line in lines)
    assert "\\u00c3\\u0083" in log_raw


def test_ftfy_repairs_every_non_ascii_name_the_generator_can_use():
    catalogue = build_catalogue(seed=7, songs=3000)
    names = {s.title for s in catalogue.songs} | {s.artist_name for s in catalogue.songs}
    names |= {t for t, _, _ in catalogue.unknown} | {a for _, a, _ in catalogue.unknown}
    pools = (
        sparkify._NON_ASCII_ARTISTS + sparkify._FOREIGN_TITLES + sparkify._ACCENTED_WORDS
        + tuple(sparkify._ACCENTED_FIRST) + tuple(sparkify._ACCENTED_LAST)
    )  # fmt: skip
    non_ascii = sorted(n for n in names | set(pools) if not n.isascii())
    assert len(non_ascii) > 200
    broken = [n for n in non_ascii if ftfy.fix_text(double_encode(n)) != n]
    assert broken == []


# ------------------------------------------------------------------------------ determinism
def test_same_arguments_give_byte_identical_files(tmp_path, data):
    store, _ = _generate(tmp_path / "again")
    assert _snapshot(store) == data.files


def test_another_seed_gives_other_data(tmp_path, data):
    store, _ = _generate(tmp_path / "other", seed=43)
    other = _snapshot(store)
    log = "sparkify/log_data/2018/11/2018-11-01-events.json"
    assert other[log] != data.files[log]
    assert _song_keys(other).isdisjoint(_song_keys(data.files))


def test_the_catalogue_does_not_depend_on_the_event_volume(tmp_path, data):
    store, _ = _generate(tmp_path / "small", days=1, events_per_day=50)
    files = _snapshot(store)
    assert _song_keys(files) == _song_keys(data.files)
    assert all(files[k] == data.files[k] for k in _song_keys(files))


def test_regenerating_replaces_the_previous_dataset(tmp_path):
    store, _ = _generate(tmp_path, days=3, events_per_day=100)
    store.write_bytes("chinook/keep.csv", b"x")  # another writer's folder: never touched
    _, summary = _generate(tmp_path, days=1, events_per_day=100, songs=20, seed=1)
    keys = [o.key for o in store.list("")]
    assert [k for k in keys if k.startswith("sparkify/log_data/")] == [
        "sparkify/log_data/2018/11/2018-11-01-events.json"
    ]
    assert [k for k in keys if k.startswith("_truth/")] == ["_truth/sparkify/plays/2018-11-01.csv"]
    assert sum(k.startswith("sparkify/song_data/") for k in keys) == summary.files - 2
    assert "chinook/keep.csv" in keys


@pytest.mark.parametrize(
    "overrides", [{"days": 0}, {"events_per_day": 0}, {"songs": 3}, {"users": 0}]
)
def test_invalid_arguments_are_refused(tmp_path, overrides):
    with pytest.raises(ValueError):
        _generate(tmp_path, **overrides)


# ------------------------------------------------------------------------------ the sample
@pytest.mark.acceptance
@pytest.mark.skipif(not SAMPLE.is_dir(), reason="public Sparkify sample not available")
def test_the_format_checked_here_is_the_public_samples():
    """The serialisations the tests demand reproduce the real sample byte for byte."""
    log = (SAMPLE / "log_data/2018/11/2018-11-01-events.json").read_text("ascii")
    lines = log.split("\n")
    assert not log.endswith("\n")
    for line in lines:
        event = json.loads(line)
        assert list(event) == EXPECTED_KEYS
        assert _sample_serialize(event) == line
    song = (SAMPLE / "song_data/A/A/A/TRAAAAW128F429D538.json").read_text("ascii").split("\n")
    assert len(song) == 2 and song[0] == song[1] == json.dumps(json.loads(song[0]))
