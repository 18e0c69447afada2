{# Refresh the planner statistics of tables built earlier in the same dbt invocation, as a
   pre-hook of the model that joins them. PostgreSQL and Redshift have no statistics for a table
   created moments ago (autovacuum analyzes it later) and then plan big joins as nested loops
   (minutes instead of milliseconds on a few thousand rows). DuckDB needs nothing. #}
{% macro analyze_relations(relations) -%}
    {{ return(adapter.dispatch('analyze_relations', 'music_dwh')(relations)) }}
{%- endmacro %}

{# Not under `dbt run --empty` (music_dwh creates missing tables empty that way): each
   relation then renders as a zero-row subquery, which analyze cannot take, and an empty table
   has no statistics worth gathering. #}
{% macro default__analyze_relations(relations) -%}
    {%- if not invocation_args_dict.get('empty') -%}
        {%- for relation in relations %}analyze {{ relation }};{% endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__analyze_relations(relations) -%}
{%- endmacro %}
