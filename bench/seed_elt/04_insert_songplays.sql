-- The seeds' fact insert: a play matches a song on exact title, artist name and duration.
insert into songplays (start_time, user_id, level, song_id, artist_id, session_id, location, user_agent)
select distinct
    se.ts,
    se.userId,
    se.level,
    ss.song_id,
    ss.artist_id,
    se.sessionId,
    se.location,
    se.userAgent
from staging_events as se
join staging_songs as ss
    on se.song = ss.title
    and se.artist = ss.artist_name
    and se.length = ss.duration
where se.page = 'NextSong';
