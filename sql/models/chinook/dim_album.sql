with

staging_album as (
    select * from {{ source('chinook', 'staging_album') }}
),

dim_artist as (
    select * from {{ ref('dim_artist') }}
),

final as (
    select
        staging_album.album_id,
        staging_album.title as album_title,
        staging_album.artist_id,
        dim_artist.artist_name
    from staging_album
    left join dim_artist
        on dim_artist.artist_id = staging_album.artist_id
)

select * from final
