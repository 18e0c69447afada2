-- Session length by the level a session started at, over every loaded day (Sparkify report table).
select
    level,
    sum(sessions) as sessions,
    round(sum(songs) * 1.0 / sum(sessions), 1) as average_songs,
    round(sum(minutes) * 1.0 / sum(sessions), 1) as average_minutes,
    max(longest_songs) as longest_songs,
    max(longest_minutes) as longest_minutes
from sparkify.session_length_by_level
group by level
order by level
