with

user_level_history as (
    select * from {{ ref('user_level_history') }}
),

user_activity_daily as (
    select * from {{ ref('user_activity_daily') }}
),

-- Every day from the first to the last day with events, so days without a change show 0.
bounds as (
    select
        min(date_day) as first_day,
        max(date_day) as last_day
    from user_activity_daily
),

days as (
    {{ day_spine('(select first_day from bounds)', '(select last_day from bounds)') }}
),

-- A change is dated by the first event at the new level (UTC day).
changes as (
    select
        cast(valid_from as date) as date_day,
        cast(
            sum(case when previous_level = 'free' and level = 'paid' then 1 else 0 end) as bigint
        ) as upgrades,
        cast(
            sum(case when previous_level = 'paid' and level = 'free' then 1 else 0 end) as bigint
        ) as downgrades,
        count(distinct user_id) as users_changing
    from user_level_history
    where previous_level is not null
    group by cast(valid_from as date)
),

final as (
    select
        days.date_day,
        coalesce(changes.upgrades, 0) as upgrades,
        coalesce(changes.downgrades, 0) as downgrades,
        coalesce(changes.upgrades, 0) - coalesce(changes.downgrades, 0) as net_upgrades,
        coalesce(changes.users_changing, 0) as users_changing
    from days
    left join changes
        on changes.date_day = days.date_day
)

select * from final
