with

staging_track as (
    select * from {{ source('chinook', 'staging_track') }}
),

dim_album as (
    select * from {{ ref('dim_album') }}
),

dim_genre as (
    select * from {{ ref('dim_genre') }}
),

dim_media_type as (
    select * from {{ ref('dim_media_type') }}
),

-- Album, artist, genre and media type are denormalized for analysts; album and genre may be
-- NULL in Chinook, so every join is a left join.
final as (
    select
        staging_track.track_id,
        staging_track.name as track_name,
        staging_track.album_id,
        dim_album.album_title,
        dim_album.artist_id,
        dim_album.artist_name,
        staging_track.genre_id,
        dim_genre.genre_name,
        staging_track.media_type_id,
        dim_media_type.media_type_name,
        staging_track.composer,
        staging_track.milliseconds as duration_ms,
        {{ divide_decimal('staging_track.milliseconds', '60000', scale=2, precision=10) }}
            as duration_minutes,
        staging_track.bytes,
        staging_track.unit_price
    from staging_track
    left join dim_album
        on dim_album.album_id = staging_track.album_id
    left join dim_genre
        on dim_genre.genre_id = staging_track.genre_id
    left join dim_media_type
        on dim_media_type.media_type_id = staging_track.media_type_id
)

select * from final
