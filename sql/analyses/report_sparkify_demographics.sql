-- Listeners and their plays by gender and current level (Sparkify report table).
select
    coalesce(gender, '?') as gender,
    level,
    count(*) as users,
    sum(plays) as plays,
    round(sum(plays) * 1.0 / count(*), 1) as plays_per_user
from sparkify.user_demographics
group by coalesce(gender, '?'), level
order by gender, level
