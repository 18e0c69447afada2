-- Redshift: COPY staging_events FROM 's3://…/log_data' … FORMAT AS JSON 's3://…/log_json_path.json'
--           TIMEFORMAT AS 'epochmillisecs';
-- PostgreSQL has no JSON COPY: every line of every log file is streamed in one COPY into a
-- jsonb column (CSV mode with a quote and delimiter that never occur, so backslashes and
-- quotes reach the JSON parser untouched), then 03_stage_events.sql maps the keys to columns.
copy staging_events_json (doc) from stdin with (format csv, quote e'\x01', delimiter e'\x02')
