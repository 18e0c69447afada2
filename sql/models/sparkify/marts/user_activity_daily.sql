{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_partition_window('date_day') }}",
        tags=['daily'],
        meta={'partition_column': 'date_day'},
    )
}}

with

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

-- Identified users only: logged-out events (NULL userid) belong to no one.
user_events as (
    select
        partition_date as date_day,
        userid as user_id,
        sessionid as session_id,
        page,
        level,
        row_number() over (
            partition by partition_date, userid
            order by ts desc, sessionid desc, iteminsession desc
        ) as recency_rank
    from staging_events
    where userid is not null
),

activity as (
    select
        date_day,
        user_id,
        count(*) as events,
        cast(sum(case when page = 'NextSong' then 1 else 0 end) as bigint) as plays,
        count(distinct session_id) as sessions
    from user_events
    group by date_day, user_id
),

final as (
    select
        activity.date_day,
        activity.user_id,
        activity.plays,
        activity.sessions,
        activity.events,
        latest_event.level as level_at_end_of_day
    from activity
    inner join user_events as latest_event
        on latest_event.date_day = activity.date_day
        and latest_event.user_id = activity.user_id
        and latest_event.recency_rank = 1
)

select * from final
