-- One query per play: the song and artist with exactly this title, artist name and duration.
select songs.song_id, artists.artist_id
from songs
join artists on songs.artist_id = artists.artist_id
where songs.title = %s
  and artists.name = %s
  and songs.duration = %s
