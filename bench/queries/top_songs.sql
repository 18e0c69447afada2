-- The seeds' question: which songs are users listening to most? (catalogue songs)
select
    songs.title,
    artists.name as artist,
    count(*) as plays
from sparkify.songplays
inner join sparkify.songs on songs.song_id = songplays.song_id
inner join sparkify.artists on artists.artist_id = songplays.artist_id
group by songs.title, artists.name
order by plays desc, songs.title, artists.name
limit 10
