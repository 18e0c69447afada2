{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_partition_window('start_time') }}",
        tags=['daily'],
        meta={'partition_column': 'start_time'},
    )
}}

with

songplays as (
    select * from {{ ref('songplays') }}
    where start_time >= {{ window_start() }}
        and start_time < {{ window_end() }}
),

start_times as (
    select distinct start_time from songplays
),

final as (
    select
        start_time,
        cast(extract(hour from start_time) as integer) as hour,
        cast(extract(day from start_time) as integer) as day,
        cast(extract(week from start_time) as integer) as week,
        cast(extract(month from start_time) as integer) as month,
        cast(extract(year from start_time) as integer) as year,
        -- 0 = Sunday … 6 = Saturday, the same on DuckDB, PostgreSQL and Redshift
        cast(extract(dow from start_time) as integer) as weekday
    from start_times
)

select * from final
