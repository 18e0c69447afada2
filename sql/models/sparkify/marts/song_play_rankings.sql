with

song_plays_daily as (
    select * from {{ ref('song_plays_daily') }}
),

-- The same plays summed per day, per ISO week (starting Monday) and per calendar month.
period_song_plays as (
    select
        'day' as period_type,
        date_day as period_start,
        song_key,
        song_id,
        song_title,
        artist_id,
        artist_name,
        plays
    from song_plays_daily
    union all
    select
        'week' as period_type,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as period_start,
        song_key,
        song_id,
        song_title,
        artist_id,
        artist_name,
        plays
    from song_plays_daily
    union all
    select
        'month' as period_type,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as period_start,
        song_key,
        song_id,
        song_title,
        artist_id,
        artist_name,
        plays
    from song_plays_daily
),

period_plays as (
    select
        period_type,
        period_start,
        song_key,
        song_id,
        song_title,
        artist_id,
        artist_name,
        cast(sum(plays) as bigint) as plays
    from period_song_plays
    group by period_type, period_start, song_key, song_id, song_title, artist_id, artist_name
),

-- Ties are broken by title, artist and key, so every rank is unique and stable.
final as (
    select
        period_type,
        period_start,
        rank() over (
            partition by period_type, period_start
            order by plays desc, song_title, artist_name, song_key
        ) as play_rank,
        song_key,
        song_id,
        song_title,
        artist_id,
        artist_name,
        plays
    from period_plays
)

select * from final
