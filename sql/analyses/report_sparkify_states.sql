-- Listeners and plays by US state of their latest location (Sparkify report table).
select
    coalesce(state_code, 'unknown') as state_code,
    coalesce(time_zone, 'UTC (no US state)') as time_zone,
    count(*) as users,
    sum(plays) as plays
from sparkify.user_demographics
group by coalesce(state_code, 'unknown'), coalesce(time_zone, 'UTC (no US state)')
order by plays desc, state_code
