{# Models land in the schema named after their source system (sparkify, chinook), the same
   schema the staging loaders write to, not in "<target schema>_sparkify". #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
