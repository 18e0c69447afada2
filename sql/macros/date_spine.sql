{# One row per day from start_date to end_date, both included, in a column date_day.
   start_date and end_date are SQL expressions (literals or scalar subqueries such as
   "(select first_day from bounds)"); the spine is empty when either is NULL.
   Portable: the day numbers come from cross-joined digits 0–9 (`digits` of them, 10^digits days
   at most: 5 digits ≈ 273 years), not from generate_series, which Redshift only has on the
   leader node. Use it as the body of a CTE: `spine as ({{ date_spine(...) }})`. #}
{% macro date_spine(start_date, end_date, digits=5) -%}
select
    {{ add_days(start_date, 'day_numbers.day_number') }} as date_day
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
where day_numbers.day_number <= {{ days_between(start_date, end_date) }}
{%- endmacro %}
