{# Restored from the dbt manifest after it was accidentally overwritten (the macros are
   the original ones, two lines since wrapped at 100 columns; the original comments were lost).
   divide_decimal: numerator / denominator as decimal(precision, scale), rounded half away
   from zero, exactly on every engine (DuckDB divides DECIMALs as DOUBLE). #}
{% macro divide_decimal(numerator, denominator, scale=2, precision=18) -%}
    {{ return(adapter.dispatch('divide_decimal', 'music_dwh')(
        numerator, denominator, scale, precision
    )) }}
{%- endmacro %}

{% macro default__divide_decimal(numerator, denominator, scale, precision) -%}
    cast(
        round(cast({{ numerator }} as decimal(38, 10)) / nullif({{ denominator }}, 0), {{ scale }})
        as decimal({{ precision }}, {{ scale }})
    )
{%- endmacro %}

{% macro duckdb__divide_decimal(numerator, denominator, scale, precision) -%}
    {%- set n = 'cast(cast(' ~ numerator ~ ' as decimal(38, 6)) * 1000000 as hugeint)' -%}
    {%- set d = 'cast(cast(nullif(' ~ denominator
        ~ ', 0) as decimal(38, 6)) * 1000000 as hugeint)' -%}
    {%- set unit = '1' if scale == 0 else '0.' ~ ('0' * (scale - 1)) ~ '1' -%}
    cast(
        cast(
            sign({{ n }}) * sign({{ d }})
            * ((abs({{ n }}) * {{ 2 * 10 ** scale }} + abs({{ d }})) // (2 * abs({{ d }})))
            as decimal(38, 0)
        ) * {{ unit }}
        as decimal({{ precision }}, {{ scale }})
    )
{%- endmacro %}
