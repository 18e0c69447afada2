with

staging_invoice as (
    select * from {{ source('chinook', 'staging_invoice') }}
),

-- From the first invoice day to the end of the year after the last invoice's year: the
-- calendar runs ahead of the sales, so a daily load finds its day here even before dim_date is
-- rebuilt (the facts' relationships tests rely on it).
calendar_bounds as (
    select
        cast(min(invoice_date) as date) as first_day,
        cast(
            cast(cast(extract(year from max(invoice_date)) as integer) + 1 as varchar(4))
            || '-12-31'
            as date
        ) as last_day
    from staging_invoice
),

date_spine as (
    {{ day_spine(
        '(select first_day from calendar_bounds)', '(select last_day from calendar_bounds)'
    ) }}
),

final as (
    select
        date_day,
        cast(extract(year from date_day) as integer) as year,
        cast(extract(quarter from date_day) as integer) as quarter,
        cast(extract(month from date_day) as integer) as month,
        {{ month_name('date_day') }} as month_name,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        cast(extract(day from date_day) as integer) as day_of_month,
        -- 0 = Sunday … 6 = Saturday, the same on DuckDB, PostgreSQL and Redshift
        cast(extract(dow from date_day) as integer) as day_of_week,
        -- ISO week (1–53, weeks start on Monday)
        cast(extract(week from date_day) as integer) as week_of_year,
        case when cast(extract(dow from date_day) as integer) in (0, 6) then true else false end
            as is_weekend
    from date_spine
)

select * from final
