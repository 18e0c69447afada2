with

fact_invoice as (
    select * from {{ ref('fact_invoice') }}
),

invoices as (
    select
        cast(extract(year from date_day) as integer) as year,
        invoice_id,
        customer_id,
        line_count,
        units,
        total
    from fact_invoice
),

-- Distinct customers are counted per year, not summed from sales_monthly.
final as (
    select
        year,
        count(*) as invoices,
        cast(sum(line_count) as bigint) as invoice_lines,
        cast(sum(units) as bigint) as units,
        cast(sum(total) as decimal(18, 2)) as revenue,
        count(distinct customer_id) as customers
    from invoices
    group by year
)

select * from final
