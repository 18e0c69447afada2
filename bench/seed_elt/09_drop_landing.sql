-- The jsonb landing tables exist only because PostgreSQL has no JSON COPY; Redshift's COPY
-- writes staging_events/staging_songs directly, so they are not part of the warehouse.
drop table staging_events_json;
drop table staging_songs_json;
