"""The Sparkify marts (sql/models/sparkify/marts) against figures computed independently from
the staging tables with pandas: plays per day, song and artist rankings, user activity, level
changes, sessions, local-time usage and demographics.

All read the session's `loaded_systems` (7 generated days loaded through `music-dwh load`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

ZONES = {  # the states the generator uses → their IANA zone (the mart's mapping, written again)
    "AZ": "America/Phoenix",
    "CA": "America/Los_Angeles",
    "DC": "America/New_York",
    "FL": "America/New_York",
    "GA": "America/New_York",
    "IL": "America/Chicago",
    "KY": "America/New_York",
    "ME": "America/New_York",
    "MI": "America/New_York",
    "MN": "America/Chicago",
    "MO": "America/Chicago",
    "NC": "America/New_York",
    "NY": "America/New_York",
    "OR": "America/Los_Angeles",
    "PA": "America/New_York",
    "TN": "America/Chicago",
    "TX": "America/Chicago",
    "UT": "America/Denver",
    "VA": "America/New_York",
    "WA": "America/Los_Angeles",
}


@pytest.fixture(scope="module")
def db(loaded_systems):
    con = duckdb.connect(str(loaded_systems.sparkify.warehouse), read_only=True)
    yield con
    con.close()


def frame(con, sql: str) -> pd.DataFrame:
    return con.execute(sql).df()


def normalized(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


@pytest.fixture(scope="module")
def events(db) -> pd.DataFrame:
    return frame(db, "select * from sparkify.staging_events")


@pytest.fixture(scope="module")
def plays(db, events) -> pd.DataFrame:
    """Every NextSong event with the name it must be counted under, derived from staging."""
    df = events[events.page == "NextSong"].copy()
    df["songplay_id"] = [
        hashlib.md5(f"{u}|{s}|{i}|{t}".encode()).hexdigest()
        for u, s, i, t in zip(df.userid, df.sessionid, df.iteminsession, df.ts, strict=True)
    ]
    matches = frame(db, "select songplay_id, song_id, artist_id from sparkify.songplays")
    songs = frame(db, "select song_id, title, artist_id, artist_name from sparkify.staging_songs")
    df = df.merge(matches, on="songplay_id", how="left", validate="one_to_one")
    assert len(df) > 1000 and df.song_id.notna().mean() > 0.5 and df.song_id.isna().sum() > 50
    titles = songs.set_index("song_id").title
    artists = frame(db, "select artist_id, name from sparkify.artists").set_index("artist_id").name
    matched = df.song_id.notna()
    df["song_title"] = df.song.where(~matched, df.song_id.map(titles))
    df["song_artist"] = df.artist.where(~matched, df.artist_id.map(artists))
    # artists: catalogue artist of the play, else the catalogue artist of the same normalized name
    by_name = songs.assign(key=songs.artist_name.map(normalized)).groupby("key").artist_id.min()
    df["artist_ref"] = df.artist_id.where(matched, df.artist.map(normalized).map(by_name))
    df["artist_label"] = df.artist_ref.map(artists).where(df.artist_ref.notna(), df.artist)
    df["day"] = pd.to_datetime(df.ts, unit="ms").dt.date
    return df


def test_plays_per_day_and_level_match_the_staged_events(db, events):
    expected = (
        events[events.page == "NextSong"].groupby(["partition_date", "level"]).size().to_dict()
    )
    mart = {
        (d, level): plays
        for d, level, plays in db.execute(
            "select date_day, level, plays from sparkify.plays_by_level_daily"
        ).fetchall()
    }
    assert {(pd.Timestamp(d).date(), lv): n for (d, lv), n in expected.items()} == mart
    per_day = {
        d: n
        for d, n in db.execute(
            "select date_day, sum(plays) from sparkify.song_plays_daily group by 1"
        ).fetchall()
    }
    per_day_artists = {
        d: n
        for d, n in db.execute(
            "select date_day, sum(plays) from sparkify.artist_plays_daily group by 1"
        ).fetchall()
    }
    by_day = events[events.page == "NextSong"].groupby("partition_date").size()
    assert per_day == per_day_artists == {pd.Timestamp(d).date(): n for d, n in by_day.items()}
    assert len(per_day) == 7


def test_song_rankings_count_unmatched_plays_under_the_logged_names(db, plays):
    # versions of a song share title and artist: the catalogue song_id tells them apart
    expected = (
        plays.fillna({"song_id": ""}).groupby(["song_id", "song_title", "song_artist"]).size()
    )
    ranking = frame(
        db,
        """
        select song_title, artist_name, song_id, plays, play_rank from sparkify.song_play_rankings
        where period_type = 'month' order by play_rank""",
    )
    assert ranking.plays.sum() == len(plays)
    got = {
        ("" if pd.isna(song_id) else song_id, title, artist): n
        for song_id, title, artist, n in zip(
            ranking.song_id, ranking.song_title, ranking.artist_name, ranking.plays, strict=True
        )
    }
    assert got == expected.to_dict()
    assert list(ranking.play_rank) == list(range(1, len(ranking) + 1))
    assert list(ranking.plays) == sorted(ranking.plays, reverse=True)
    # unmatched plays are counted, under the title as logged (no song_id)
    unmatched = ranking[ranking.song_id.isna()]
    assert len(unmatched) > 0
    logged = set(plays[plays.song_id.isna()].song)
    assert set(unmatched.song_title) <= logged


def test_weekly_artist_rankings(db, plays):
    plays = plays.assign(week=[d - dt.timedelta(days=d.weekday()) for d in plays.day])
    expected = plays.groupby(["week", "artist_label"]).size()
    ranking = frame(
        db,
        """
        select period_start, artist_name, plays, play_rank from sparkify.artist_play_rankings
        where period_type = 'week'""",
    )
    assert sorted(ranking.period_start.dt.date.unique()) == [
        dt.date(2018, 10, 29),
        dt.date(2018, 11, 5),
    ]
    got = {
        (w.date(), a): n
        for w, a, n in zip(ranking.period_start, ranking.artist_name, ranking.plays, strict=True)
    }
    assert got == expected.to_dict()
    for week, top in ranking[ranking.play_rank == 1].groupby("period_start"):
        assert top.plays.iloc[0] == expected[week.date()].max()


def test_trending_artists_compare_each_week_with_the_one_before(db):
    trending = frame(db, "select * from sparkify.trending_artists")
    weekly = frame(
        db,
        """
        select period_start, artist_key, plays from sparkify.artist_play_rankings where period_type = 'week'""",
    )
    plays_in = {
        (w.date(), k): n
        for w, k, n in zip(weekly.period_start, weekly.artist_key, weekly.plays, strict=True)
    }
    second_week = trending[trending.week_start.dt.date == dt.date(2018, 11, 5)]
    assert len(second_week) > 0
    for row in second_week.itertuples():
        assert row.previous_week_plays == plays_in.get((dt.date(2018, 10, 29), row.artist_key), 0)
    ranked = second_week[second_week.is_ranked].sort_values("trend_rank")
    assert len(ranked) > 0
    assert (ranked.plays >= 5).all() and (ranked.previous_week_plays >= 5).all()
    rates = [float(r) for r in ranked.growth_rate]
    assert rates == sorted(rates, reverse=True)
    assert list(ranked.trend_rank) == list(range(1, len(ranked) + 1))
    assert second_week[~second_week.is_ranked].trend_rank.isna().all()
    first_week = trending[trending.week_start.dt.date == dt.date(2018, 10, 29)]
    assert not first_week.is_ranked.any()  # nothing before the first loaded week
    assert set(first_week.week_days_with_plays) == {4} and set(
        second_week.week_days_with_plays
    ) == {3}


def test_plays_and_sessions_per_user_per_day(db, events):
    identified = events[events.userid.notna()]
    expected = {
        (pd.Timestamp(day).date(), int(user)): (
            int((group.page == "NextSong").sum()),
            group.sessionid.nunique(),
        )
        for (day, user), group in identified.groupby(["partition_date", "userid"])
    }
    mart = {
        (day, user): (plays, sessions)
        for day, user, plays, sessions in db.execute(
            "select date_day, user_id, plays, sessions from sparkify.user_activity_daily"
        ).fetchall()
    }
    assert len(expected) > 20
    assert mart == expected


def _level_changes(events: pd.DataFrame) -> pd.DataFrame:
    identified = events[events.userid.notna()].sort_values(
        ["userid", "ts", "sessionid", "iteminsession"]
    )
    previous = identified.groupby("userid")["level"].shift()
    changes = identified[previous.notna() & (previous != identified.level)].copy()
    changes["previous"] = previous[changes.index]
    changes["day"] = pd.to_datetime(changes.ts, unit="ms").dt.date
    return changes


def test_level_transitions_per_day(db, events):
    changes = _level_changes(events)
    upgrades = changes[changes.level == "paid"].groupby("day").size()
    downgrades = changes[changes.level == "free"].groupby("day").size()
    assert upgrades.sum() > 0 and downgrades.sum() > 0
    mart = frame(db, "select date_day, upgrades, downgrades from sparkify.level_transitions_daily")
    assert len(mart) == 7  # every day, zeros included
    got_up = {d.date(): n for d, n in zip(mart.date_day, mart.upgrades, strict=True) if n}
    got_down = {d.date(): n for d, n in zip(mart.date_day, mart.downgrades, strict=True) if n}
    assert got_up == upgrades.to_dict()
    assert got_down == downgrades.to_dict()


def test_level_history_is_type_2(db, events):
    changes = _level_changes(events)
    history = frame(db, "select * from sparkify.user_level_history order by user_id, version")
    identified_users = set(events.userid.dropna().astype("int64"))
    assert set(history.user_id) == identified_users
    rows_per_user = history.groupby("user_id").size()
    expected_rows = (
        changes.groupby("userid").size().reindex(sorted(identified_users), fill_value=0) + 1
    )
    assert rows_per_user.to_dict() == {int(k): int(v) for k, v in expected_rows.items()}
    assert (history.groupby("user_id").is_current.sum() == 1).all()
    current = history[history.is_current].set_index("user_id").level
    users = frame(db, "select user_id, level from sparkify.users").set_index("user_id").level
    assert current.sort_index().to_dict() == users.sort_index().to_dict()
    for _, user_rows in history.groupby("user_id"):
        valid_to = list(user_rows.valid_to)
        assert valid_to[:-1] == list(user_rows.valid_from)[1:] and pd.isna(valid_to[-1])
        assert list(user_rows.version) == list(range(1, len(user_rows) + 1))


def test_sessions_per_level(db, events):
    identified = events[events.userid.notna()].sort_values(["ts", "iteminsession"])
    sessions = identified.groupby(["userid", "sessionid"]).agg(
        level=("level", "first"), songs=("page", lambda p: int((p == "NextSong").sum()))
    )
    by_level = sessions.groupby("level").agg(sessions=("songs", "size"), songs=("songs", "sum"))
    mart = frame(
        db,
        """select level, sum(sessions) as sessions, sum(songs) as songs
                        from sparkify.session_length_by_level group by level""",
    ).set_index("level")
    assert {k: int(v) for k, v in mart.sessions.items()} == by_level.sessions.to_dict()
    assert {k: int(v) for k, v in mart.songs.items()} == by_level.songs.to_dict()
    # minutes: first event to the end of the last song, for the longest session
    lengths = frame(
        db,
        "select user_id, session_id, minutes from sparkify.session_lengths order by minutes desc limit 1",
    )
    user, session = int(lengths.user_id[0]), int(lengths.session_id[0])
    rows = identified[(identified.userid == user) & (identified.sessionid == session)]
    end = (rows.ts + (rows.length.fillna(0) * 1000).round().where(rows.page == "NextSong", 0)).max()
    assert float(lengths.minutes[0]) == pytest.approx((end - rows.ts.min()) / 60000, abs=0.006)


def test_usage_by_hour_is_in_local_time_with_daylight_saving(db, events):
    nextsong = events[events.page == "NextSong"]
    local, utc = {}, {}
    for ts, location in zip(nextsong.ts, nextsong.location, strict=True):
        state = location.rsplit(", ", 1)[1].split("-")[0]
        when = dt.datetime.fromtimestamp(ts / 1000, ZoneInfo(ZONES[state]))
        key = (when.isoweekday() % 7, when.hour)
        local[key] = local.get(key, 0) + 1
        when_utc = dt.datetime.fromtimestamp(ts / 1000, dt.UTC)
        utc_key = (when_utc.isoweekday() % 7, when_utc.hour)
        utc[utc_key] = utc.get(utc_key, 0) + 1
    mart = {
        (w, h): (p, lp)
        for w, h, p, lp in db.execute(
            "select weekday, hour, plays, local_time_plays from sparkify.usage_by_hour"
        ).fetchall()
    }
    assert len(mart) == 168
    assert {k: p for k, (p, _) in mart.items() if p} == local
    assert all(p == lp for p, lp in mart.values())  # every generated location is in the US
    assert local != utc


def test_demographics_parse_the_state_and_count_plays(db, events):
    demographics = frame(db, "select * from sparkify.user_demographics").set_index("user_id")
    identified = events[events.userid.notna()]
    latest = (
        identified[identified.location.notna()]
        .sort_values("ts")
        .groupby("userid")["location"]
        .last()
    )
    for user, location in latest.items():
        row = demographics.loc[int(user)]
        assert row.location == location
        assert row.state_code == location.rsplit(", ", 1)[1][:2]
        assert row.time_zone == ZONES[row.state_code]
    plays = identified[identified.page == "NextSong"].groupby("userid").size()
    assert {int(k): int(v) for k, v in plays.items()} == {
        k: int(v) for k, v in demographics.plays.items() if v
    }
    assert set(demographics.gender.dropna()) <= {"F", "M"}
    assert set(demographics.level) <= {"free", "paid"}
