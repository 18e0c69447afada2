{#- An artist is ranked in a week only with at least this many plays in that week and in the
    week before: growth from a handful of plays is noise. -#}
{%- set min_weekly_plays = 5 -%}

with

artist_plays_daily as (
    select * from {{ ref('artist_plays_daily') }}
),

weekly_plays as (
    select
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        artist_key,
        artist_id,
        artist_name,
        cast(sum(plays) as bigint) as plays
    from artist_plays_daily
    group by
        cast({{ dbt.date_trunc('week', 'date_day') }} as date), artist_key, artist_id, artist_name
),

-- How many days of each week have plays at all: the first and last weeks of the data are
-- usually partial, which a reader of their growth should know.
week_days as (
    select
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        count(distinct date_day) as days_with_plays
    from artist_plays_daily
    group by cast({{ dbt.date_trunc('week', 'date_day') }} as date)
),

growth as (
    select
        this_week.week_start,
        this_week.artist_key,
        this_week.artist_id,
        this_week.artist_name,
        this_week.plays,
        coalesce(previous_week.plays, 0) as previous_week_plays,
        this_week.plays - coalesce(previous_week.plays, 0) as play_growth,
        {{ divide_decimal(
            'this_week.plays - previous_week.plays', 'previous_week.plays', scale=4, precision=12
        ) }} as growth_rate,
        case
            when this_week.plays >= {{ min_weekly_plays }}
                and coalesce(previous_week.plays, 0) >= {{ min_weekly_plays }}
                then true
            else false
        end as is_ranked
    from weekly_plays as this_week
    left join weekly_plays as previous_week
        on previous_week.artist_key = this_week.artist_key
        and previous_week.week_start
        = cast({{ dbt.dateadd('day', -7, 'this_week.week_start') }} as date)
),

ranked as (
    select
        growth.*,
        rank() over (
            partition by growth.week_start, growth.is_ranked
            order by
                growth.growth_rate desc, growth.plays desc, growth.artist_name, growth.artist_key
        ) as rank_in_group
    from growth
),

final as (
    select
        ranked.week_start,
        ranked.artist_key,
        ranked.artist_id,
        ranked.artist_name,
        ranked.plays,
        ranked.previous_week_plays,
        ranked.play_growth,
        ranked.growth_rate,
        ranked.is_ranked,
        case when ranked.is_ranked then ranked.rank_in_group end as trend_rank,
        coalesce(this_week_days.days_with_plays, 0) as week_days_with_plays,
        coalesce(previous_week_days.days_with_plays, 0) as previous_week_days_with_plays
    from ranked
    left join week_days as this_week_days
        on this_week_days.week_start = ranked.week_start
    left join week_days as previous_week_days
        on previous_week_days.week_start
        = cast({{ dbt.dateadd('day', -7, 'ranked.week_start') }} as date)
)

select * from final
