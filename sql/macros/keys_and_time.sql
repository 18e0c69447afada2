{# A deterministic key: md5 of the columns' text, so re-runs give the same id. dbt has no
   built-in for it (dbt_utils has), and dbt.hash would cast the whole concatenation to text,
   which Redshift cuts at 256 characters. #}
{% macro surrogate_key(columns) -%}
    md5(
    {%- for column in columns %}
        coalesce(cast({{ column }} as varchar), '_null_'){% if not loop.last %} || '|' ||{% endif %}
    {%- endfor %}
    )
{%- endmacro %}

{# Epoch milliseconds (the Sparkify logs' ts) to a UTC timestamp without time zone. Not
   dbt.dateadd: Redshift's dateadd takes a 32-bit number of units. #}
{% macro epoch_ms_to_timestamp(expr) -%}
    {{ return(adapter.dispatch('epoch_ms_to_timestamp', 'music_dwh')(expr)) }}
{%- endmacro %}

{% macro default__epoch_ms_to_timestamp(expr) -%}
    (to_timestamp({{ expr }} / 1000.0) at time zone 'UTC')
{%- endmacro %}

{% macro duckdb__epoch_ms_to_timestamp(expr) -%}
    epoch_ms({{ expr }})
{%- endmacro %}

{% macro redshift__epoch_ms_to_timestamp(expr) -%}
    (timestamp 'epoch' + ({{ expr }} / 1000.0) * interval '1 second')
{%- endmacro %}
