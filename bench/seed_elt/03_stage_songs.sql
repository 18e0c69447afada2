-- FORMAT AS JSON 'auto': keys to the columns of the same name.
insert into staging_songs
select
    (doc ->> 'num_songs')::integer,
    doc ->> 'artist_id',
    (doc ->> 'artist_latitude')::float,
    (doc ->> 'artist_longitude')::float,
    doc ->> 'artist_location',
    doc ->> 'artist_name',
    doc ->> 'song_id',
    doc ->> 'title',
    (doc ->> 'duration')::float,
    (doc ->> 'year')::integer
from staging_songs_json;
