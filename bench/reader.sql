-- DuckDB's own load of the raw log files into a table: every field parsed and stored, nothing
-- validated, numbered, de-duplicated or repaired. The least work a staging step must do.
create table events as
select *
from read_json('${RAW}/sparkify/log_data/*/*/*.json', format = 'newline_delimited', filename = true);

select count(*) as events from events;
