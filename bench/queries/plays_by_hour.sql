-- The seeds' question: when do users listen? Plays per hour of the day (UTC), from the time table.
select
    "time".hour,
    count(*) as plays
from sparkify.songplays
inner join sparkify."time" on "time".start_time = songplays.start_time
group by "time".hour
order by "time".hour
