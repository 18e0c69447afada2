{# Date arithmetic that differs between engines. Arguments are SQL expressions (a date, or a
   timestamp that is cast to its date); every macro returns a date or an integer, the same type
   on DuckDB, PostgreSQL and Redshift. #}

{# First day of the expression's month, as a date. date_trunc is common to all three engines
   but returns a timestamp (DuckDB and Redshift even for a date), hence the cast. #}
{% macro month_start(expr) -%}
    {{ return(adapter.dispatch('month_start', 'music_dwh')(expr)) }}
{%- endmacro %}

{% macro default__month_start(expr) -%}
    cast(date_trunc('month', {{ expr }}) as date)
{%- endmacro %}

{# Whole days from start_date to end_date (negative when end_date is earlier). #}
{% macro days_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('days_between', 'music_dwh')(start_date, end_date)) }}
{%- endmacro %}

{# PostgreSQL: date - date is an integer number of days. #}
{% macro default__days_between(start_date, end_date) -%}
    (cast({{ end_date }} as date) - cast({{ start_date }} as date))
{%- endmacro %}

{% macro duckdb__days_between(start_date, end_date) -%}
    cast(date_diff('day', cast({{ start_date }} as date), cast({{ end_date }} as date)) as integer)
{%- endmacro %}

{% macro redshift__days_between(start_date, end_date) -%}
    datediff(day, cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{# Calendar months from start_date's month to end_date's month (2021-01-31 → 2021-02-01 is 1),
   the month boundaries crossed, not 30-day periods. #}
{% macro months_between(start_date, end_date) -%}
    {{ return(adapter.dispatch('months_between', 'music_dwh')(start_date, end_date)) }}
{%- endmacro %}

{% macro default__months_between(start_date, end_date) -%}
    ((cast(extract(year from {{ end_date }}) as integer)
            - cast(extract(year from {{ start_date }}) as integer)) * 12
        + cast(extract(month from {{ end_date }}) as integer)
        - cast(extract(month from {{ start_date }}) as integer))
{%- endmacro %}

{% macro duckdb__months_between(start_date, end_date) -%}
    cast(
        date_diff('month', cast({{ start_date }} as date), cast({{ end_date }} as date)) as integer
    )
{%- endmacro %}

{% macro redshift__months_between(start_date, end_date) -%}
    datediff(month, cast({{ start_date }} as date), cast({{ end_date }} as date))
{%- endmacro %}

{# date_expr plus a whole number of days, as a date. #}
{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'music_dwh')(date_expr, days)) }}
{%- endmacro %}

{# PostgreSQL and DuckDB: date + integer is a date. #}
{% macro default__add_days(date_expr, days) -%}
    (cast({{ date_expr }} as date) + cast({{ days }} as integer))
{%- endmacro %}

{% macro redshift__add_days(date_expr, days) -%}
    cast(dateadd(day, cast({{ days }} as integer), cast({{ date_expr }} as date)) as date)
{%- endmacro %}

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
