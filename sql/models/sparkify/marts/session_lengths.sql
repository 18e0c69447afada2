with

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where userid is not null
),

-- A session is a user's session id; its logged-out events (no user) are not part of it. A play
-- ends when its song does (ts + length); any other event at its timestamp.
-- Cannot overflow on anything staging lets through (its physical ranges, README): length is
-- finite and at most 86,400 s, so length * 1000 fits BIGINT; ts lies in 2000 ... 2099, so a
-- session spans at most 52,597,440 minutes, well inside DECIMAL(12,2).
session_events as (
    select
        userid as user_id,
        sessionid as session_id,
        ts,
        case
            when page = 'NextSong' then ts + cast(round(coalesce(length, 0) * 1000) as bigint)
            else ts
        end as end_ts,
        page,
        level,
        row_number() over (
            partition by userid, sessionid
            order by ts, iteminsession
        ) as event_number
    from staging_events
),

sessions as (
    select
        user_id,
        session_id,
        min(ts) as start_ts,
        max(end_ts) as end_ts,
        cast(sum(case when page = 'NextSong' then 1 else 0 end) as bigint) as songs,
        count(*) as events,
        count(distinct level) as levels
    from session_events
    group by user_id, session_id
),

final as (
    select
        {{ surrogate_key(['sessions.user_id', 'sessions.session_id']) }} as session_key,
        sessions.user_id,
        sessions.session_id,
        -- the level the session started at
        first_event.level,
        case when sessions.levels > 1 then true else false end as changed_level,
        {{ epoch_ms_to_timestamp('sessions.start_ts') }} as started_at,
        {{ epoch_ms_to_timestamp('sessions.end_ts') }} as ended_at,
        cast({{ epoch_ms_to_timestamp('sessions.start_ts') }} as date) as date_day,
        sessions.songs,
        sessions.events,
        {{ divide_decimal('sessions.end_ts - sessions.start_ts', '60000', scale=2, precision=12) }}
            as minutes
    from sessions
    inner join session_events as first_event
        on first_event.user_id = sessions.user_id
        and first_event.session_id = sessions.session_id
        and first_event.event_number = 1
)

select * from final
