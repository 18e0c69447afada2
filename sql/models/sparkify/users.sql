with

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where userid is not null
),

-- The latest event decides a user's current level (users move between free and paid).
ranked_events as (
    select
        userid,
        firstname,
        lastname,
        gender,
        level,
        row_number() over (
            partition by userid
            order by ts desc, sessionid desc, iteminsession desc
        ) as recency_rank
    from staging_events
),

final as (
    select
        userid as user_id,
        firstname as first_name,
        lastname as last_name,
        gender,
        level
    from ranked_events
    where recency_rank = 1
)

select * from final
