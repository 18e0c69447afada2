insert into songs (song_id, title, artist_id, year, duration)
select distinct
    song_id,
    title,
    artist_id,
    year,
    duration
from staging_songs
where song_id is not null;
