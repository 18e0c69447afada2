with

staging_playlist_track as (
    select * from {{ source('chinook', 'staging_playlist_track') }}
),

final as (
    select
        {{ surrogate_key(['playlist_id', 'track_id']) }} as playlist_track_key,
        playlist_id,
        track_id
    from staging_playlist_track
)

select * from final
