with

staging_songs as (
    select * from {{ source('sparkify', 'staging_songs') }}
),

final as (
    select
        song_id,
        artist_id,
        duration,
        {{ normalize_text('title') }} as title_key,
        {{ normalize_text('artist_name') }} as artist_key
    from staging_songs
)

select * from final
