with

staging_media_type as (
    select * from {{ source('chinook', 'staging_media_type') }}
),

final as (
    select
        media_type_id,
        name as media_type_name
    from staging_media_type
)

select * from final
