with

fact_invoice as (
    select * from {{ ref('fact_invoice') }}
),

final as (
    select
        date_day,
        count(*) as invoices,
        cast(sum(line_count) as bigint) as invoice_lines,
        cast(sum(units) as bigint) as units,
        cast(sum(total) as decimal(18, 2)) as revenue,
        count(distinct customer_id) as customers
    from fact_invoice
    group by date_day
)

select * from final
