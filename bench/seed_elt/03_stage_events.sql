-- What Redshift's JSON COPY does while loading: keys to columns (the seeds' JSONPaths file
-- lists them in this order), epoch milliseconds to a timestamp (TIMEFORMAT 'epochmillisecs'),
-- and an empty userId (a logged-out visitor) to NULL.
insert into staging_events
select
    doc ->> 'artist',
    doc ->> 'auth',
    doc ->> 'firstName',
    doc ->> 'gender',
    (doc ->> 'itemInSession')::integer,
    doc ->> 'lastName',
    (doc ->> 'length')::float,
    doc ->> 'level',
    doc ->> 'location',
    doc ->> 'method',
    doc ->> 'page',
    (doc ->> 'registration')::float,
    (doc ->> 'sessionId')::integer,
    doc ->> 'song',
    (doc ->> 'status')::integer,
    to_timestamp((doc ->> 'ts')::bigint / 1000.0) at time zone 'UTC',
    doc ->> 'userAgent',
    nullif(doc ->> 'userId', '')::integer
from staging_events_json;
