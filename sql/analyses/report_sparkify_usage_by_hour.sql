-- Plays by weekday (0 = Sunday) and hour, listener's local time where known (Sparkify report
-- heatmap).
select
    weekday,
    weekday_name,
    hour,
    plays,
    local_time_plays,
    utc_plays
from sparkify.usage_by_hour
order by weekday, hour
