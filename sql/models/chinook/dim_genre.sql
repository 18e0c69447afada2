with

staging_genre as (
    select * from {{ source('chinook', 'staging_genre') }}
),

final as (
    select
        genre_id,
        name as genre_name
    from staging_genre
)

select * from final
