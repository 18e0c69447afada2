insert into songs (song_id, title, artist_id, year, duration)
values (%s, %s, %s, %s, %s)
on conflict (song_id) do nothing
