-- One-shot reference: the Sparkify star schema (songplays, users, songs, artists, time)
-- straight from the raw files in one hand-written DuckDB script, with music_dwh's song
-- matching (normalized title and artist, duration only breaking ties) and the same repair of
-- double-encoded names. ${RAW} is the raw store folder. No quarantine, no checks, no
-- partitions, no lineage columns: the least a pipeline producing these tables must do.

-- UTF-8 read as Latin-1 once, undone: every character below U+0100 becomes a byte, the bytes
-- are decoded as UTF-8 (NULL when they are not UTF-8, or a character is above U+00FF).
create or replace macro unmangle_once(s) as
    case when list_bool_and(list_transform(string_split(s, ''), lambda c: unicode(c) < 256))
        then try(decode(unhex(array_to_string(
            list_transform(string_split(s, ''), lambda c: printf('%02X', unicode(c))), ''))))
    end;

-- The logs double-encode non-ASCII names ("BjÃ\x83Â¶rk"): undo it up to twice, as far as it
-- decodes (music_dwh uses ftfy.fix_encoding for the same repair).
create or replace macro repair_text(s) as
    case
        when s is null or regexp_matches(s, '^[\x01-\x7f]*$') then s
        else coalesce(unmangle_once(coalesce(unmangle_once(s), s)), unmangle_once(s), s)
    end;

-- music_dwh's match key (sql/macros/text.sql, DuckDB version).
create or replace macro match_key(s) as regexp_replace(lower(s), '[^\p{L}\p{N}]', '', 'g');

create schema if not exists sparkify;

create or replace temp table raw_events as
select
    repair_text(artist) as artist,
    repair_text(firstName) as firstname,
    gender,
    itemInSession as iteminsession,
    repair_text(lastName) as lastname,
    length,
    level,
    repair_text(location) as location,
    page,
    sessionId as sessionid,
    repair_text(song) as song,
    ts,
    userAgent as useragent,
    cast(nullif(userId, '') as bigint) as userid
from read_json(
    '${RAW}/sparkify/log_data/*/*/*.json',
    format = 'newline_delimited',
    columns = {
        artist: 'VARCHAR', auth: 'VARCHAR', firstName: 'VARCHAR', gender: 'VARCHAR',
        itemInSession: 'BIGINT', lastName: 'VARCHAR', length: 'DOUBLE', level: 'VARCHAR',
        location: 'VARCHAR', method: 'VARCHAR', page: 'VARCHAR', registration: 'DOUBLE',
        sessionId: 'BIGINT', song: 'VARCHAR', status: 'BIGINT', ts: 'BIGINT',
        userAgent: 'VARCHAR', userId: 'VARCHAR'
    }
);

-- The catalogue: one record per song_id, the first in key order (duplicates dropped).
create or replace temp table catalogue as
select
    song_id,
    repair_text(title) as title,
    artist_id,
    repair_text(artist_name) as artist_name,
    repair_text(artist_location) as artist_location,
    artist_latitude,
    artist_longitude,
    duration,
    year
from read_json(
    '${RAW}/sparkify/song_data/*/*/*/*.json',
    format = 'newline_delimited',
    filename = true,
    columns = {
        num_songs: 'BIGINT', artist_id: 'VARCHAR', artist_latitude: 'DOUBLE',
        artist_location: 'VARCHAR', artist_longitude: 'DOUBLE', artist_name: 'VARCHAR',
        duration: 'DOUBLE', song_id: 'VARCHAR', title: 'VARCHAR', year: 'BIGINT'
    }
)
qualify row_number() over (partition by song_id order by filename) = 1;

create or replace table sparkify.songs as
select song_id, title, artist_id, nullif(year, 0) as year, duration
from catalogue;

create or replace table sparkify.artists as
select
    artist_id,
    artist_name as name,
    nullif(trim(artist_location), '') as location,
    artist_latitude as latitude,
    artist_longitude as longitude
from catalogue
qualify row_number() over (
    partition by artist_id
    order by
        case when artist_latitude is null then 1 else 0 end,
        case when nullif(trim(artist_location), '') is null then 1 else 0 end,
        song_id
) = 1;

create or replace table sparkify.users as
select
    userid as user_id,
    firstname as first_name,
    lastname as last_name,
    gender,
    level
from raw_events
where userid is not null
qualify row_number() over (
    partition by userid order by ts desc, sessionid desc, iteminsession desc
) = 1;

create or replace table sparkify.songplays as
with plays as (
    select
        md5(
            coalesce(cast(userid as varchar), '_null_') || '|' ||
            coalesce(cast(sessionid as varchar), '_null_') || '|' ||
            coalesce(cast(iteminsession as varchar), '_null_') || '|' ||
            coalesce(cast(ts as varchar), '_null_')
        ) as songplay_id,
        epoch_ms(ts) as start_time,
        userid as user_id,
        level,
        sessionid as session_id,
        location,
        useragent as user_agent,
        length,
        match_key(song) as title_key,
        match_key(artist) as artist_key
    from raw_events
    where page = 'NextSong'
),
match_keys as (
    select song_id, artist_id, duration, match_key(title) as title_key, match_key(artist_name) as artist_key
    from catalogue
),
best_match as (
    select plays.songplay_id, match_keys.song_id, match_keys.artist_id
    from plays
    join match_keys
        on match_keys.title_key = plays.title_key
        and match_keys.artist_key = plays.artist_key
    qualify row_number() over (
        partition by plays.songplay_id
        order by abs(match_keys.duration - plays.length) nulls last, match_keys.song_id
    ) = 1
)
select
    plays.songplay_id,
    plays.start_time,
    plays.user_id,
    plays.level,
    best_match.song_id,
    best_match.artist_id,
    plays.session_id,
    plays.location,
    plays.user_agent
from plays
left join best_match on best_match.songplay_id = plays.songplay_id;

create or replace table sparkify."time" as
select
    start_time,
    cast(extract(hour from start_time) as integer) as hour,
    cast(extract(day from start_time) as integer) as day,
    cast(extract(week from start_time) as integer) as week,
    cast(extract(month from start_time) as integer) as month,
    cast(extract(year from start_time) as integer) as year,
    cast(extract(dow from start_time) as integer) as weekday
from (select distinct start_time from sparkify.songplays);

checkpoint;
