{{ config(meta={'dagster': {'ref': {'name': 'songplays'}}}) }}
-- Reconciliation (blocking): within the partition window, every day has exactly one songplay
-- per NextSong event staged for that day. Returns the days that disagree.

with

staged_next_songs as (
    select
        partition_date as day,
        count(*) as events
    from {{ source('sparkify', 'staging_events') }}
    where page = 'NextSong'
        and partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
    group by partition_date
),

songplays as (
    select
        cast(start_time as date) as day,
        count(*) as plays
    from {{ ref('songplays') }}
    where start_time >= {{ window_start() }}
        and start_time < {{ window_end() }}
    group by cast(start_time as date)
),

compared as (
    select
        coalesce(staged_next_songs.day, songplays.day) as day,
        coalesce(staged_next_songs.events, 0) as events,
        coalesce(songplays.plays, 0) as plays
    from staged_next_songs
    full outer join songplays on songplays.day = staged_next_songs.day
)

select * from compared
where events <> plays
