-- Floor: scan every raw log file once. The least work any pipeline must do.
select count(*) as events
from read_json_auto('${RAW}/sparkify/log_data/*/*/*.json')
