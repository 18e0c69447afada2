{# What dbt's cross-database date macros (dbt.date_trunc, dbt.dateadd, dbt.datediff, used
   directly in the models) do not cover. Arguments are SQL expressions. #}

{# The English month name ('January'), without padding. #}
{% macro month_name(expr) -%}
    {{ return(adapter.dispatch('month_name', 'music_dwh')(expr)) }}
{%- endmacro %}

{# PostgreSQL and Redshift pad to_char's 'Month' to nine characters. #}
{% macro default__month_name(expr) -%}
    trim(to_char({{ expr }}, 'Month'))
{%- endmacro %}

{% macro duckdb__month_name(expr) -%}
    monthname({{ expr }})
{%- endmacro %}

{# One row per day from start_date to end_date, both included, in a column date_day.
   start_date and end_date are SQL expressions (literals or scalar subqueries such as
   "(select first_day from bounds)"); the spine is empty when either is NULL. Not
   dbt.date_spine: that one asks the warehouse for the number of days while compiling, so its
   bounds cannot come from the model's own CTEs, and it cannot compile offline.
   Portable: the day numbers come from cross-joined digits 0–9 (`digits` of them, 10^digits days
   at most: 5 digits ≈ 273 years), not from generate_series, which Redshift only has on the
   leader node. Use it as the body of a CTE: `days as ({{ day_spine(...) }})`. #}
{% macro day_spine(start_date, end_date, digits=5) -%}
select
    cast({{ dbt.dateadd('day', 'day_numbers.day_number', start_date) }} as date) as date_day
from (
    select
        {% for i in range(digits) -%}
        digits_{{ i }}.digit * {{ 10 ** i }}{% if not loop.last %} + {% endif %}
    {%- endfor %} as day_number
    from
        {% for i in range(digits) -%}
        (
            select 0 as digit union all select 1 union all select 2 union all select 3
            union all select 4 union all select 5 union all select 6 union all select 7
            union all select 8 union all select 9
        ) as digits_{{ i }}{% if not loop.last %}
        cross join
        {% endif %}
    {%- endfor %}
) as day_numbers
where day_numbers.day_number <= {{ dbt.datediff(start_date, end_date, 'day') }}
{%- endmacro %}
