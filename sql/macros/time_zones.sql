{# Local time from the warehouse's own time-zone database: IANA zone names, their daylight
   saving rules and history. Sparkify's locations map to a zone through the us_state_time_zones
   seed (seeds/sparkify). #}

{# The local wall-clock time (timestamp without time zone) of a UTC timestamp without time zone
   in the IANA zone time_zone ('America/Chicago'; an expression, typically the seed's column).
   NULL when time_zone is NULL. #}
{% macro local_time(utc_timestamp, time_zone) -%}
    {{ return(adapter.dispatch('local_time', 'music_dwh')(utc_timestamp, time_zone)) }}
{%- endmacro %}

{# PostgreSQL, and DuckDB with its ICU extension (statically linked into the duckdb wheel):
   read the timestamp as UTC (a timestamp with time zone), then its wall-clock time in the
   zone. #}
{% macro default__local_time(utc_timestamp, time_zone) -%}
    (({{ utc_timestamp }}) at time zone 'UTC') at time zone {{ time_zone }}
{%- endmacro %}

{% macro redshift__local_time(utc_timestamp, time_zone) -%}
    convert_timezone('UTC', {{ time_zone }}, {{ utc_timestamp }})
{%- endmacro %}

{# The state code of a Sparkify location: "Chicago-Naperville-Elgin, IL-IN-WI" → 'IL' (the
   first state after the last ", ": a metro area spanning states lists its main state first).
   Any other shape gives a string that is not a state code ('' for no comma). #}
{% macro us_state_code(location) -%}
    split_part(reverse(split_part(reverse({{ location }}), ' ,', 1)), '-', 1)
{%- endmacro %}
