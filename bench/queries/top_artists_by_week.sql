-- The seeds' question: who are the most played artists, week by week? Top 5 per ISO week.
with weekly as (
    select
        "time".year,
        "time".week,
        artists.name as artist,
        count(*) as plays
    from sparkify.songplays
    inner join sparkify."time" on "time".start_time = songplays.start_time
    inner join sparkify.artists on artists.artist_id = songplays.artist_id
    group by "time".year, "time".week, artists.name
),

ranked as (
    select
        year,
        week,
        artist,
        plays,
        row_number() over (partition by year, week order by plays desc, artist) as rank_in_week
    from weekly
)

select year, week, rank_in_week, artist, plays
from ranked
where rank_in_week <= 5
order by year, week, rank_in_week
