with

staging_events as (
    select * from {{ source('sparkify', 'staging_events') }}
    where userid is not null
),

-- Every identified event in order: a level that differs from the previous event's starts a
-- new version (the Submit Upgrade/Downgrade event itself still carries the old level).
ordered_events as (
    select
        userid as user_id,
        level,
        ts,
        lag(level) over (
            partition by userid
            order by ts, sessionid, iteminsession
        ) as previous_event_level,
        sessionid,
        iteminsession
    from staging_events
),

numbered_events as (
    select
        user_id,
        level,
        ts,
        cast(
            sum(
                case
                    when previous_event_level is null or previous_event_level <> level then 1
                    else 0
                end
            ) over (
                partition by user_id
                order by ts, sessionid, iteminsession
                rows between unbounded preceding and current row
            ) as integer
        ) as version
    from ordered_events
),

versions as (
    select
        user_id,
        version,
        level,
        min(ts) as first_ts,
        max(ts) as last_ts,
        count(*) as events
    from numbered_events
    group by user_id, version, level
),

final as (
    select
        {{ surrogate_key(['user_id', 'version']) }} as user_level_id,
        user_id,
        version,
        level,
        lag(level) over (partition by user_id order by version) as previous_level,
        {{ epoch_ms_to_timestamp('first_ts') }} as valid_from,
        {{ epoch_ms_to_timestamp('lead(first_ts) over (partition by user_id order by version)') }}
            as valid_to,
        case
            when lead(first_ts) over (partition by user_id order by version) is null then true
            else false
        end as is_current,
        {{ epoch_ms_to_timestamp('last_ts') }} as last_event_at,
        events
    from versions
)

select * from final
