{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_partition_window('date_day') }}",
        tags=['daily'],
        meta={'partition_column': 'date_day'},
    )
}}

with

songplays as (
    select * from {{ ref('songplays') }}
    where start_time >= {{ window_start() }}
        and start_time < {{ window_end() }}
),

plays as (
    select
        cast(start_time as date) as date_day,
        level,
        user_id,
        session_id,
        song_id
    from songplays
),

-- A session is a user's session id (the logs number sessions per user).
final as (
    select
        date_day,
        level,
        count(*) as plays,
        count(song_id) as matched_plays,
        count(distinct user_id) as listeners,
        count(distinct cast(user_id as varchar(20)) || '-' || cast(session_id as varchar(20)))
            as sessions
    from plays
    group by date_day, level
)

select * from final
