-- Key figures of the Sparkify report (music_dwh/assets/reports.py): one row.
select
    plays.first_day,
    plays.last_day,
    plays.days,
    plays.plays,
    plays.matched_plays,
    users.listeners,
    users.paid_listeners,
    sessions.sessions,
    sessions.average_songs_per_session,
    sessions.average_minutes_per_session,
    transitions.upgrades,
    transitions.downgrades
from (
    select
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(distinct date_day) as days,
        sum(plays) as plays,
        sum(matched_plays) as matched_plays
    from sparkify.plays_by_level_daily
) as plays
cross join (
    select
        sum(case when plays > 0 then 1 else 0 end) as listeners,
        sum(case when plays > 0 and level = 'paid' then 1 else 0 end) as paid_listeners
    from sparkify.user_demographics
) as users
cross join (
    select
        sum(sessions) as sessions,
        round(sum(songs) * 1.0 / nullif(sum(sessions), 0), 1) as average_songs_per_session,
        round(sum(minutes) * 1.0 / nullif(sum(sessions), 0), 1) as average_minutes_per_session
    from sparkify.session_length_by_level
) as sessions
cross join (
    select
        sum(upgrades) as upgrades,
        sum(downgrades) as downgrades
    from sparkify.level_transitions_daily
) as transitions
