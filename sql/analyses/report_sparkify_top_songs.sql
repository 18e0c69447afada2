-- The 10 most played songs over every loaded day; unmatched plays count under the logged title
-- and artist (Sparkify report).
select
    song_title,
    artist_name,
    song_id is not null as in_catalogue,
    sum(plays) as plays
from sparkify.song_plays_daily
group by song_key, song_title, artist_name, song_id
order by plays desc, song_title, artist_name
limit 10
