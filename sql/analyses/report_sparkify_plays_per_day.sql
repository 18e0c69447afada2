-- Plays per UTC day by the level logged with each play (Sparkify report: plays per day, level mix).
select
    date_day,
    sum(case when level = 'free' then plays else 0 end) as free_plays,
    sum(case when level = 'paid' then plays else 0 end) as paid_plays,
    sum(plays) as plays
from sparkify.plays_by_level_daily
group by date_day
order by date_day
