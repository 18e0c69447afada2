insert into artists (artist_id, name, location, latitude, longitude)
select distinct
    artist_id,
    artist_name,
    artist_location,
    artist_latitude,
    artist_longitude
from staging_songs
where artist_id is not null;
