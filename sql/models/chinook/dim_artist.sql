with

staging_artist as (
    select * from {{ source('chinook', 'staging_artist') }}
),

final as (
    select
        artist_id,
        name as artist_name
    from staging_artist
)

select * from final
