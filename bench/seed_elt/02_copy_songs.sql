-- Redshift: COPY staging_songs FROM 's3://…/song_data' … FORMAT AS JSON 'auto';
-- As for the events: every song file's lines in one COPY into a jsonb column.
copy staging_songs_json (doc) from stdin with (format csv, quote e'\x01', delimiter e'\x02')
