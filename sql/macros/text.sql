{# A match key for names: lower case with everything but letters and digits removed, so
   "Didn't Mean To", "didnt  mean to." and "DIDN'T MEAN TO " agree. #}
{% macro normalize_text(expr) -%}
    {{ return(adapter.dispatch('normalize_text', 'music_dwh')(expr)) }}
{%- endmacro %}

{% macro default__normalize_text(expr) -%}
    regexp_replace(lower({{ expr }}), '[^[:alnum:]]', '', 'g')
{%- endmacro %}

{% macro duckdb__normalize_text(expr) -%}
    regexp_replace(lower({{ expr }}), '[^\p{L}\p{N}]', '', 'g')
{%- endmacro %}

{% macro redshift__normalize_text(expr) -%}
    regexp_replace(lower({{ expr }}), '[^[:alnum:]]', '')
{%- endmacro %}
