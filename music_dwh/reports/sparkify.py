"""Sparkify's listening report: what it says, from the marts in schema sparkify (the queries
are ``sql/analyses/report_sparkify_*.sql``). How it looks is ``kit``'s."""

from music_dwh.reports.kit import (
    BLUE,
    GREY,
    ORANGE,
    KeyFigure,
    Report,
    Section,
    count,
    growth,
    heatmap,
    horizontal_bars,
    line_chart,
    number,
    percent,
    query_rows,
    stacked_bars,
)
from music_dwh.resources.warehouse import WarehouseSession

SYSTEM = "sparkify"
# The marts the report reads (dbt models under sql/models/sparkify/marts).
MARTS = (
    "plays_by_level_daily",
    "song_plays_daily",
    "artist_plays_daily",
    "usage_by_hour",
    "trending_artists",
    "session_length_by_level",
    "user_demographics",
    "level_transitions_daily",
)

WEEKDAYS_FROM_MONDAY = (1, 2, 3, 4, 5, 6, 0)  # extract(dow): 0 = Sunday
WEEKDAY_LABELS = {0: "Sun", 1: "Mon", 2: "Tue", 3: "Wed", 4: "Thu", 5: "Fri", 6: "Sat"}
NO_PLAYS = "No plays loaded yet."
CATALOGUE_LEGEND = [("in the catalogue", BLUE), ("as logged (not in the catalogue)", ORANGE)]


def _one_decimal(value) -> str:
    return "–" if value is None else f"{float(value):.1f}"


def build_report(session: WarehouseSession) -> Report:
    k = query_rows(session, "report_sparkify_key_figures")[0]
    per_day = query_rows(session, "report_sparkify_plays_per_day")
    plays = number(k["plays"]) or 0
    matched_share = (number(k["matched_plays"]) or 0) / plays if plays else None
    period = f"{k['first_day']} – {k['last_day']}" if k["first_day"] else "no plays loaded"
    songs_per_session = k["average_songs_per_session"]
    minutes_per_session = k["average_minutes_per_session"]
    report = Report(
        system=SYSTEM,
        title="Sparkify listening report",
        subtitle=f"Plays from {period} ({k['days'] or 0} days with plays), "
        "from the marts in schema sparkify.",
        figures=[
            KeyFigure("plays", "plays", int(plays), count(plays)),
            KeyFigure(
                "listeners", "listeners with plays", number(k["listeners"]), count(k["listeners"])
            ),
            KeyFigure(
                "paid_listeners",
                "of them paying now",
                number(k["paid_listeners"]),
                count(k["paid_listeners"]),
            ),
            KeyFigure("sessions", "sessions", number(k["sessions"]), count(k["sessions"])),
            KeyFigure(
                "songs_per_session",
                "songs per session",
                number(songs_per_session),
                _one_decimal(songs_per_session),
            ),
            KeyFigure(
                "minutes_per_session",
                "minutes per session",
                number(minutes_per_session),
                _one_decimal(minutes_per_session),
            ),
            KeyFigure(
                "matched_share",
                "plays matched to the catalogue",
                None if matched_share is None else round(matched_share, 4),
                percent(matched_share),
            ),
            KeyFigure(
                "upgrades", "upgrades (free → paid)", number(k["upgrades"]), count(k["upgrades"])
            ),
            KeyFigure(
                "downgrades",
                "downgrades (paid → free)",
                number(k["downgrades"]),
                count(k["downgrades"]),
            ),
        ],
    )
    days = [r["date_day"] for r in per_day]

    section = Section(
        "Plays per day", note="Every song played (NextSong event), by UTC day.", empty=NO_PLAYS
    )
    if per_day:
        section.image = line_chart(
            days, [number(r["plays"]) for r in per_day], "Plays per day", "Plays (count)"
        )
        section.alt = "Line chart of plays per day"
    report.sections.append(section)

    section = Section(
        "Top 10 songs",
        note=f"Most played songs, {period}. Plays of songs outside the catalogue count under the "
        "title and artist as logged (orange).",
        empty=NO_PLAYS,
    )
    top_songs = query_rows(session, "report_sparkify_top_songs")
    if top_songs:
        section.image = horizontal_bars(
            [f"{r['song_title']} — {r['artist_name']}" for r in top_songs],
            [number(r["plays"]) for r in top_songs],
            "Top 10 songs by plays",
            "Plays (count)",
            colors=[BLUE if r["in_catalogue"] else ORANGE for r in top_songs],
            legend=CATALOGUE_LEGEND,
        )
        section.alt = "Horizontal bar chart of the 10 most played songs"
    report.sections.append(section)

    section = Section(
        "Top 10 artists",
        note=f"Most played artists, {period}. A song outside the catalogue counts for the "
        "catalogue artist of the same (normalized) name, else under the artist name as logged "
        "(orange).",
        empty=NO_PLAYS,
    )
    top_artists = query_rows(session, "report_sparkify_top_artists")
    if top_artists:
        section.image = horizontal_bars(
            [r["artist_name"] for r in top_artists],
            [number(r["plays"]) for r in top_artists],
            "Top 10 artists by plays",
            "Plays (count)",
            colors=[BLUE if r["in_catalogue"] else ORANGE for r in top_artists],
            legend=CATALOGUE_LEGEND,
        )
        section.alt = "Horizontal bar chart of the 10 most played artists"
    report.sections.append(section)

    hourly = query_rows(session, "report_sparkify_usage_by_hour")
    local = sum(number(r["local_time_plays"]) for r in hourly)
    total = sum(number(r["plays"]) for r in hourly)
    section = Section(
        "Peak listening times",
        note="Plays by weekday and hour in the listener's local time, from the US state of the "
        "location logged with the play (daylight saving time included); plays without a US "
        f"location count in UTC. Local time: {percent(local / total if total else None)} of "
        "plays.",
        empty=NO_PLAYS,
    )
    if total:
        cells = {(r["weekday"], r["hour"]): number(r["plays"]) for r in hourly}
        section.image = heatmap(
            [[cells.get((w, h), 0) for h in range(24)] for w in WEEKDAYS_FROM_MONDAY],
            [WEEKDAY_LABELS[w] for w in WEEKDAYS_FROM_MONDAY],
            [str(h) for h in range(24)],
            "Plays by hour of day and weekday",
            "Hour of day (listener's local time)",
            "Weekday",
            "Plays (count)",
        )
        section.alt = "Heatmap of plays by weekday and hour of day"
    report.sections.append(section)

    section = Section(
        "Free and paid plays",
        note="Plays per day by the level logged with each play.",
        empty=NO_PLAYS,
    )
    if per_day:
        free = [number(r["free_plays"]) for r in per_day]
        paid = [number(r["paid_plays"]) for r in per_day]
        section.image = stacked_bars(
            days,
            [("free", free, GREY), ("paid", paid, BLUE)],
            "Plays per day by level (free vs paid)",
            "Plays (count)",
        )
        section.alt = "Stacked bar chart of free and paid plays per day"
    report.sections.append(section)

    trending = query_rows(session, "report_sparkify_trending_artists")
    note = (
        "Week-over-week growth of plays (weeks start on Monday, UTC); only artists with at "
        "least 5 plays in both weeks are ranked."
    )
    if trending:
        first = trending[0]
        note += (
            f" Week of {first['week_start']}: {first['week_days_with_plays']} of 7 days with "
            f"plays (previous week {first['previous_week_days_with_plays']} of 7)."
        )
    report.sections.append(
        Section(
            "Trending artists",
            note=note,
            columns=["rank", "artist", "plays", "previous week", "growth"],
            rows=[
                [
                    r["trend_rank"],
                    r["artist_name"],
                    r["plays"],
                    r["previous_week_plays"],
                    growth(r["growth_rate"]),
                ]
                for r in trending
            ],
            empty="No artist has enough plays in two consecutive weeks yet.",
        )
    )

    sessions = query_rows(session, "report_sparkify_sessions_by_level")
    report.sections.append(
        Section(
            "Session length by level",
            note="Sessions by the level they started at; a play lasts its song's length.",
            columns=[
                "level",
                "sessions",
                "songs per session",
                "minutes per session",
                "longest (songs)",
                "longest (minutes)",
            ],
            rows=[
                [
                    r["level"],
                    r["sessions"],
                    r["average_songs"],
                    r["average_minutes"],
                    r["longest_songs"],
                    r["longest_minutes"],
                ]
                for r in sessions
            ],
            empty="No sessions loaded yet.",
        )
    )

    demographics = query_rows(session, "report_sparkify_demographics")
    report.sections.append(
        Section(
            "Listeners by gender and level",
            note="Identified users by gender and current level, with their plays.",
            columns=["gender", "level", "users", "plays", "plays per user"],
            rows=[
                [r["gender"], r["level"], r["users"], r["plays"], r["plays_per_user"]]
                for r in demographics
            ],
            empty="No users loaded yet.",
        )
    )

    states = query_rows(session, "report_sparkify_states")
    report.sections.append(
        Section(
            "Listeners by state",
            note="US state of each user's latest location and the time zone used for local time.",
            columns=["state", "time zone", "users", "plays"],
            rows=[[r["state_code"], r["time_zone"], r["users"], r["plays"]] for r in states],
            empty="No users loaded yet.",
        )
    )
    return report
