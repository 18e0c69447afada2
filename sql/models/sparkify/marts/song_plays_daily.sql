{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook=[
            "{{ analyze_relations([source('sparkify', 'staging_events'), ref('songplays')]) }}",
            "{{ delete_partition_window('date_day') }}",
        ],
        tags=['daily'],
        meta={'partition_column': 'date_day'},
    )
}}

with

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

songplays as (
    select * from {{ ref('songplays') }}
    where start_time >= {{ window_start() }}
        and start_time < {{ window_end() }}
),

songs as (
    select * from {{ ref('songs') }}
),

artists as (
    select * from {{ ref('artists') }}
),

-- Every play as logged (names already repaired while staging), keyed like songplays.
logged_plays as (
    select
        {{ surrogate_key(['userid', 'sessionid', 'iteminsession', 'ts']) }} as songplay_id,
        partition_date as date_day,
        song as logged_title,
        artist as logged_artist
    from staging_events
    where page = 'NextSong'
),

-- A play matched to the catalogue counts under the catalogue's title and artist; an unmatched
-- play under the title and artist name as logged, so no play is lost.
plays as (
    select
        logged_plays.date_day,
        songplays.song_id,
        songplays.artist_id,
        coalesce(songs.title, logged_plays.logged_title) as song_title,
        coalesce(artists.name, logged_plays.logged_artist) as artist_name
    from logged_plays
    left join songplays
        on songplays.songplay_id = logged_plays.songplay_id
    left join songs
        on songs.song_id = songplays.song_id
    left join artists
        on artists.artist_id = songplays.artist_id
),

final as (
    select
        date_day,
        coalesce(song_id, {{ surrogate_key(['song_title', 'artist_name']) }}) as song_key,
        song_id,
        song_title,
        artist_id,
        artist_name,
        count(*) as plays
    from plays
    group by date_day, song_id, song_title, artist_id, artist_name
)

select * from final
