with

staging_songs as (
    select * from {{ source('sparkify', 'staging_songs') }}
),

-- An artist appears once per song; keep the most complete record (coordinates, then a
-- location), ties broken by song_id so the pick is stable.
ranked_records as (
    select
        artist_id,
        artist_name,
        nullif(trim(artist_location), '') as artist_location,
        artist_latitude,
        artist_longitude,
        row_number() over (
            partition by artist_id
            order by
                case when artist_latitude is null then 1 else 0 end,
                case when nullif(trim(artist_location), '') is null then 1 else 0 end,
                song_id
        ) as completeness_rank
    from staging_songs
),

final as (
    select
        artist_id,
        artist_name as name,
        artist_location as location,
        artist_latitude as latitude,
        artist_longitude as longitude
    from ranked_records
    where completeness_rank = 1
)

select * from final
