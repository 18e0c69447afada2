-- The 10 fastest-growing artists of one week (Sparkify report table): the latest week that is
-- complete and follows a complete week, else the latest complete week, else the latest week
-- with a ranking at all (partial weeks make growth misleading; the report says which it shows).
with

ranked_weeks as (
    select
        week_start,
        max(week_days_with_plays) as week_days_with_plays,
        max(previous_week_days_with_plays) as previous_week_days_with_plays
    from sparkify.trending_artists
    where is_ranked
    group by week_start
),

chosen_week as (
    select week_start
    from ranked_weeks
    order by
        case when week_days_with_plays = 7 and previous_week_days_with_plays = 7 then 0
            when week_days_with_plays = 7 then 1
            else 2
        end,
        week_start desc
    limit 1
)

select
    trending_artists.week_start,
    trending_artists.trend_rank,
    trending_artists.artist_name,
    trending_artists.plays,
    trending_artists.previous_week_plays,
    trending_artists.growth_rate,
    trending_artists.week_days_with_plays,
    trending_artists.previous_week_days_with_plays
from sparkify.trending_artists
inner join chosen_week
    on chosen_week.week_start = trending_artists.week_start
where trending_artists.trend_rank <= 10
order by trending_artists.trend_rank
