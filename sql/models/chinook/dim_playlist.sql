with

staging_playlist as (
    select * from {{ source('chinook', 'staging_playlist') }}
),

staging_playlist_track as (
    select * from {{ source('chinook', 'staging_playlist_track') }}
),

track_counts as (
    select
        playlist_id,
        count(*) as track_count
    from staging_playlist_track
    group by playlist_id
),

-- Playlist names are not unique in Chinook ("Music", "Movies" … appear twice) and a
-- playlist may be empty (track_count 0).
final as (
    select
        staging_playlist.playlist_id,
        staging_playlist.name as playlist_name,
        coalesce(track_counts.track_count, 0) as track_count
    from staging_playlist
    left join track_counts
        on track_counts.playlist_id = staging_playlist.playlist_id
)

select * from final
