{# numerator / denominator rounded half away from zero to `scale` decimals, as an exact
   DECIMAL(precision, scale); NULL when the denominator is 0 or NULL. For averages and
   fractions of money and counts: the operands may have at most 6 decimals. #}
{% macro divide_decimal(numerator, denominator, scale=2, precision=18) -%}
    {{ return(adapter.dispatch('divide_decimal', 'music_dwh')(numerator, denominator, scale, precision)) }}
{%- endmacro %}

{# PostgreSQL and Redshift divide NUMERIC exactly (to at least 16 significant digits here). #}
{% macro default__divide_decimal(numerator, denominator, scale, precision) -%}
    cast(
        round(cast({{ numerator }} as decimal(38, 10)) / nullif({{ denominator }}, 0), {{ scale }})
        as decimal({{ precision }}, {{ scale }})
    )
{%- endmacro %}

{# DuckDB divides DECIMALs as DOUBLEs (4.645 becomes 4.64499…, rounded to 4.64). Instead: scale
   both operands to HUGEINTs (× 10^6) and round with integer division (//), which is exact:
   round(n / d) = (2n + d) // 2d for n ≥ 0, d > 0, signs handled apart. #}
{% macro duckdb__divide_decimal(numerator, denominator, scale, precision) -%}
    {%- set n = 'cast(cast(' ~ numerator ~ ' as decimal(38, 6)) * 1000000 as hugeint)' -%}
    {%- set d = 'cast(cast(nullif(' ~ denominator ~ ', 0) as decimal(38, 6)) * 1000000 as hugeint)' -%}
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
