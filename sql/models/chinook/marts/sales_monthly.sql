with

fact_invoice as (
    select * from {{ ref('fact_invoice') }}
),

invoices as (
    select
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        invoice_id,
        customer_id,
        line_count,
        units,
        total
    from fact_invoice
),

-- Distinct customers are counted per month, not summed from sales_daily.
final as (
    select
        month_start,
        cast(extract(year from month_start) as integer) as year,
        cast(extract(month from month_start) as integer) as month,
        count(*) as invoices,
        cast(sum(line_count) as bigint) as invoice_lines,
        cast(sum(units) as bigint) as units,
        cast(sum(total) as decimal(18, 2)) as revenue,
        count(distinct customer_id) as customers
    from invoices
    group by month_start
)

select * from final
