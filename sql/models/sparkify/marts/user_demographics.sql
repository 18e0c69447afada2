with

users as (
    select * from {{ ref('users') }}
),

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where userid is not null
),

session_lengths as (
    select * from {{ ref('session_lengths') }}
),

us_state_time_zones as (
    select * from {{ ref('us_state_time_zones') }}
),

-- The location of the user's latest event that has one.
ranked_locations as (
    select
        userid as user_id,
        location,
        row_number() over (
            partition by userid
            order by ts desc, sessionid desc, iteminsession desc
        ) as recency_rank
    from staging_events
    where location is not null
),

locations as (
    select
        user_id,
        location,
        split_part(location, ', ', 1) as metro_area,
        {{ us_state_code('location') }} as parsed_state_code
    from ranked_locations
    where recency_rank = 1
),

activity as (
    select
        userid as user_id,
        cast(sum(case when page = 'NextSong' then 1 else 0 end) as bigint) as plays,
        count(distinct partition_date) as active_days,
        min(ts) as first_ts,
        max(ts) as last_ts
    from staging_events
    group by userid
),

session_counts as (
    select
        user_id,
        count(*) as sessions
    from session_lengths
    group by user_id
),

final as (
    select
        users.user_id,
        users.first_name,
        users.last_name,
        users.gender,
        users.level,
        locations.location,
        locations.metro_area,
        -- NULL unless the location ends in a US state code (see macros/time_zones.sql)
        us_state_time_zones.state_code,
        us_state_time_zones.time_zone,
        coalesce(activity.plays, 0) as plays,
        coalesce(session_counts.sessions, 0) as sessions,
        coalesce(activity.active_days, 0) as active_days,
        {{ divide_decimal(
            'coalesce(activity.plays, 0)', 'activity.active_days', scale=2, precision=12
        ) }} as plays_per_active_day,
        {{ epoch_ms_to_timestamp('activity.first_ts') }} as first_seen_at,
        {{ epoch_ms_to_timestamp('activity.last_ts') }} as last_seen_at
    from users
    left join locations
        on locations.user_id = users.user_id
    left join us_state_time_zones
        on us_state_time_zones.state_code = locations.parsed_state_code
    left join activity
        on activity.user_id = users.user_id
    left join session_counts
        on session_counts.user_id = users.user_id
)

select * from final
