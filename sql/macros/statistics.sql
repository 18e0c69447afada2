{# Refresh the planner statistics of tables built earlier in the same dbt invocation, as a
   pre-hook of the model that joins them. PostgreSQL and Redshift have no statistics for a table
   created moments ago (autovacuum analyzes it later) and then plan big joins as nested loops
   (minutes instead of milliseconds on a few thousand rows). DuckDB needs nothing. #}
{% macro analyze_relations(relations) -%}
    {{ return(adapter.dispatch('analyze_relations', 'music_dwh')(relations)) }}
{%- endmacro %}

{% macro default__analyze_relations(relations) -%}
    {%- for relation in relations %}analyze {{ relation }};{% endfor -%}
{%- endmacro %}

{% macro duckdb__analyze_relations(relations) -%}
{%- endmacro %}
