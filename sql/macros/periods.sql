{# Period arithmetic for the marts (week starts, hour offsets) that differs between engines.
   Arguments are SQL expressions. #}

{# Monday of the expression's ISO week, as a date. date_trunc('week', …) starts weeks on Monday
   on DuckDB, PostgreSQL and Redshift alike, but returns a timestamp, hence the cast. #}
{% macro week_start(expr) -%}
    {{ return(adapter.dispatch('week_start', 'music_dwh')(expr)) }}
{%- endmacro %}

{% macro default__week_start(expr) -%}
    cast(date_trunc('week', {{ expr }}) as date)
{%- endmacro %}

{# A timestamp (or a date, taken at midnight) plus a whole number of hours, as a timestamp. #}
{% macro add_hours(timestamp_expr, hours) -%}
    {{ return(adapter.dispatch('add_hours', 'music_dwh')(timestamp_expr, hours)) }}
{%- endmacro %}

{# PostgreSQL and DuckDB: an integer times an interval, added to a timestamp. #}
{% macro default__add_hours(timestamp_expr, hours) -%}
    (cast({{ timestamp_expr }} as timestamp) + cast({{ hours }} as integer) * interval '1 hour')
{%- endmacro %}

{% macro redshift__add_hours(timestamp_expr, hours) -%}
    dateadd(hour, cast({{ hours }} as integer), cast({{ timestamp_expr }} as timestamp))
{%- endmacro %}
