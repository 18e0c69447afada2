{# Local time for Sparkify users, from the state code of their "City-Metro, ST" location.

   The mapping below is deliberately small and seed-free: one US time zone per state (plus DC
   and Puerto Rico), its standard-time UTC offset in hours, and whether it observes daylight
   saving time. A state split between two zones gets the zone of most of its people (Texas,
   Florida, Indiana, Kentucky, Michigan, Tennessee, Kansas, Nebraska, the Dakotas, Idaho and
   Oregon). time_zone is the IANA name of that zone, for reference and for tests.

   Daylight saving time IS handled, with the US rule in force since 2007: from the second
   Sunday of March at 02:00 local standard time to the first Sunday of November at 02:00 local
   daylight time (01:00 standard). Arizona (outside the Navajo Nation), Hawaii and Puerto Rico
   do not observe it. Earlier years' rules are not modelled. #}

{# The body of a CTE: state_code, time_zone, utc_offset_hours (standard time), observes_dst. #}
{% macro us_state_time_zones() -%}
{%- set zones = [
    ('America/New_York', -5, true,
        ['CT', 'DC', 'DE', 'FL', 'GA', 'IN', 'KY', 'MA', 'MD', 'ME', 'MI', 'NC', 'NH', 'NJ', 'NY',
         'OH', 'PA', 'RI', 'SC', 'VA', 'VT', 'WV']),
    ('America/Chicago', -6, true,
        ['AL', 'AR', 'IA', 'IL', 'KS', 'LA', 'MN', 'MO', 'MS', 'ND', 'NE', 'OK', 'SD', 'TN', 'TX',
         'WI']),
    ('America/Denver', -7, true, ['CO', 'ID', 'MT', 'NM', 'UT', 'WY']),
    ('America/Phoenix', -7, false, ['AZ']),
    ('America/Los_Angeles', -8, true, ['CA', 'NV', 'OR', 'WA']),
    ('America/Anchorage', -9, true, ['AK']),
    ('Pacific/Honolulu', -10, false, ['HI']),
    ('America/Puerto_Rico', -4, false, ['PR']),
] -%}
    {%- for time_zone, offset, dst, states in zones %}
        {%- set outer_loop = loop %}
        {%- for state in states %}
            {%- if outer_loop.first and loop.first %}
select
    cast('{{ state }}' as varchar(2)) as state_code,
    cast('{{ time_zone }}' as varchar(32)) as time_zone,
    {{ offset }} as utc_offset_hours,
    {{ 'true' if dst else 'false' }} as observes_dst
{%- else %}
union all select '{{ state }}', '{{ time_zone }}', {{ offset }}, {{ 'true' if dst else 'false' }}
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
{%- endmacro %}

{# The state code of a Sparkify location: "Chicago-Naperville-Elgin, IL-IN-WI" → 'IL' (the
   first state after the last ", ": a metro area spanning states lists its main state first).
   Any other shape gives a string that is not a state code ('' for no comma). #}
{% macro us_state_code(location) -%}
    split_part(reverse(split_part(reverse({{ location }}), ' ,', 1)), '-', 1)
{%- endmacro %}

{# A US date of year_expr: the first Sunday on or after month-day (month_day as 'MM-DD'). #}
{% macro us_first_sunday_on_or_after(year_expr, month_day) -%}
    {%- set day = "cast(cast(" ~ year_expr ~ " as varchar(4)) || '-" ~ month_day ~ "' as date)" -%}
    {{ add_days(day, "(7 - cast(extract(dow from " ~ day ~ ") as integer)) % 7") }}
{%- endmacro %}

{# The local wall-clock time of a UTC timestamp (without time zone) in a zone given by its
   standard UTC offset in hours and whether it observes daylight saving time (expressions,
   typically columns of us_state_time_zones()). #}
{% macro us_local_time(utc_timestamp, utc_offset_hours, observes_dst) -%}
    {%- set year = "cast(extract(year from " ~ utc_timestamp ~ ") as integer)" -%}
    {#- 02:00 standard time on the second Sunday of March, in UTC -#}
    {%- set dst_start = add_hours(
        us_first_sunday_on_or_after(year, '03-08'), "2 - (" ~ utc_offset_hours ~ ")"
    ) -%}
    {#- 02:00 daylight time (01:00 standard) on the first Sunday of November, in UTC -#}
    {%- set dst_end = add_hours(
        us_first_sunday_on_or_after(year, '11-01'), "1 - (" ~ utc_offset_hours ~ ")"
    ) -%}
    {{ add_hours(utc_timestamp,
        "(" ~ utc_offset_hours ~ ") + case when " ~ observes_dst
        ~ " and " ~ utc_timestamp ~ " >= " ~ dst_start
        ~ " and " ~ utc_timestamp ~ " < " ~ dst_end ~ " then 1 else 0 end") }}
{%- endmacro %}
