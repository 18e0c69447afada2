-- Share of plays matched to a catalogue song (used by `music-dwh summary`).
select
    count(*) as plays,
    count(song_id) as matched_plays
from sparkify.songplays
