{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_partition_window('start_time') }}",
        tags=['daily'],
        meta={'partition_column': 'start_time'},
    )
}}

with

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

song_match_keys as (
    select * from {{ ref('song_match_keys') }}
),

plays as (
    select
        {{ surrogate_key(['userid', 'sessionid', 'iteminsession', 'ts']) }} as songplay_id,
        {{ epoch_ms_to_timestamp('ts') }} as start_time,
        userid as user_id,
        level,
        sessionid as session_id,
        location,
        useragent as user_agent,
        length,
        {{ normalize_text('song') }} as title_key,
        {{ normalize_text('artist') }} as artist_key
    from staging_events
    where page = 'NextSong'
),

-- Names decide the match; the duration only breaks ties between versions of a song.
ranked_matches as (
    select
        plays.songplay_id,
        song_match_keys.song_id,
        song_match_keys.artist_id,
        row_number() over (
            partition by plays.songplay_id
            order by
                abs(song_match_keys.duration - plays.length) nulls last, song_match_keys.song_id
        ) as match_rank
    from plays
    inner join song_match_keys
        on song_match_keys.title_key = plays.title_key
        and song_match_keys.artist_key = plays.artist_key
),

final as (
    select
        plays.songplay_id,
        plays.start_time,
        plays.user_id,
        plays.level,
        best_match.song_id,
        best_match.artist_id,
        plays.session_id,
        plays.location,
        plays.user_agent
    from plays
    left join ranked_matches as best_match
        on best_match.songplay_id = plays.songplay_id
        and best_match.match_rank = 1
)

select * from final
