with

songplays as (
    select * from {{ ref('songplays') }}
),

us_state_time_zones as (
    select * from {{ ref('us_state_time_zones') }}
),

-- 7 weekdays × 24 hours, so hours without plays show 0.
weekdays as (
    {%- for weekday in range(7) %}
        select {{ weekday }} as weekday
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

hours as (
    {%- for hour in range(24) %}
        select {{ hour }} as hour
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

-- A play's local time comes from the state code of the location logged with it, through the
-- state's time zone (the us_state_time_zones seed) and the warehouse's time-zone rules
-- (macros/time_zones.sql); a play without a usable US location stays in UTC.
localized_plays as (
    select
        songplays.user_id,
        case
            when us_state_time_zones.state_code is null then songplays.start_time
            else {{ local_time('songplays.start_time', 'us_state_time_zones.time_zone') }}
        end as play_time,
        case when us_state_time_zones.state_code is null then 0 else 1 end as is_local_time
    from songplays
    left join us_state_time_zones
        on us_state_time_zones.state_code = {{ us_state_code('songplays.location') }}
),

hourly_plays as (
    select
        -- 0 = Sunday … 6 = Saturday, the same on DuckDB, PostgreSQL and Redshift
        cast(extract(dow from play_time) as integer) as weekday,
        cast(extract(hour from play_time) as integer) as hour,
        count(*) as plays,
        cast(sum(is_local_time) as bigint) as local_time_plays,
        count(distinct user_id) as listeners
    from localized_plays
    group by
        cast(extract(dow from play_time) as integer), cast(extract(hour from play_time) as integer)
),

total_plays as (
    select count(*) as plays from songplays
),

final as (
    select
        weekdays.weekday,
        case weekdays.weekday
            when 0 then 'Sunday' when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday'
            when 4 then 'Thursday' when 5 then 'Friday' else 'Saturday'
        end as weekday_name,
        hours.hour,
        coalesce(hourly_plays.plays, 0) as plays,
        coalesce(hourly_plays.local_time_plays, 0) as local_time_plays,
        coalesce(hourly_plays.plays, 0) - coalesce(hourly_plays.local_time_plays, 0) as utc_plays,
        coalesce(hourly_plays.listeners, 0) as listeners,
        {{ divide_decimal(
            'coalesce(hourly_plays.plays, 0)', 'total_plays.plays', scale=6, precision=9
        ) }} as share_of_plays
    from weekdays
    cross join hours
    cross join total_plays
    left join hourly_plays
        on hourly_plays.weekday = weekdays.weekday
        and hourly_plays.hour = hours.hour
)

select * from final
