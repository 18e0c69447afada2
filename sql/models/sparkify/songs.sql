with

staging_songs as (
    select * from {{ source('sparkify', 'staging_songs') }}
),

final as (
    select
        song_id,
        title,
        artist_id,
        -- The catalogue writes 0 for an unknown year.
        nullif(year, 0) as year,
        duration
    from staging_songs
)

select * from final
