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

song_plays_daily as (
    select * from {{ ref('song_plays_daily') }}
    where date_day >= {{ window_start() }}
        and date_day < {{ window_end() }}
),

song_match_keys as (
    select * from {{ ref('song_match_keys') }}
),

artists as (
    select * from {{ ref('artists') }}
),

-- Catalogue artists by normalized name (the key plays are matched on), one per name: the
-- smallest artist_id when the catalogue spells two artists alike.
catalogue_artist_names as (
    select
        artist_key,
        min(artist_id) as artist_id
    from song_match_keys
    group by artist_key
),

-- A song outside the catalogue may still be by a catalogue artist: its plays count for that
-- artist when the logged artist name matches the artist's name (normalized). Only plays of
-- unknown artists stay under the artist name as logged.
song_artists as (
    select
        song_plays_daily.date_day,
        coalesce(song_plays_daily.artist_id, catalogue_artist_names.artist_id) as artist_id,
        song_plays_daily.artist_name as logged_artist_name,
        song_plays_daily.plays
    from song_plays_daily
    left join catalogue_artist_names
        on song_plays_daily.artist_id is null
        and catalogue_artist_names.artist_key = {{ normalize_text('song_plays_daily.artist_name') }}
),

named_artists as (
    select
        song_artists.date_day,
        song_artists.artist_id,
        coalesce(artists.name, song_artists.logged_artist_name) as artist_name,
        song_artists.plays
    from song_artists
    left join artists
        on artists.artist_id = song_artists.artist_id
),

final as (
    select
        date_day,
        coalesce(artist_id, {{ surrogate_key(['artist_name']) }}) as artist_key,
        artist_id,
        artist_name,
        cast(sum(plays) as bigint) as plays
    from named_artists
    group by date_day, artist_id, artist_name
)

select * from final
