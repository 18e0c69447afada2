-- The seeds' question "when are the peak hours?" (UTC; used by `music-dwh summary`).
select
    "time".hour,
    count(*) as plays
from sparkify.songplays
inner join sparkify."time" on "time".start_time = songplays.start_time
group by "time".hour
order by plays desc, "time".hour
limit 5
