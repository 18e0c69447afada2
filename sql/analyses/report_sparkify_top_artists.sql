-- The 10 most played artists over every loaded day (Sparkify report).
select
    artist_name,
    artist_id is not null as in_catalogue,
    sum(plays) as plays
from sparkify.artist_plays_daily
group by artist_key, artist_name, artist_id
order by plays desc, artist_name
limit 10
