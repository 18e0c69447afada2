{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        pre_hook="{{ delete_partition_window('invoice_date') }}",
        tags=['daily'],
        meta={'partition_column': 'invoice_date'},
    )
}}

with

staging_invoice as (
    select * from {{ source('chinook', 'staging_invoice') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

staging_invoice_line as (
    select * from {{ source('chinook', 'staging_invoice_line') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

dim_customer as (
    select * from {{ ref('dim_customer') }}
),

-- A line is staged on its invoice's day, so the window holds every line of its invoices.
line_totals as (
    select
        invoice_id,
        count(*) as line_count,
        cast(sum(quantity) as bigint) as units
    from staging_invoice_line
    group by invoice_id
),

final as (
    select
        staging_invoice.invoice_id,
        staging_invoice.customer_id,
        -- the customer's support rep when the day was loaded
        dim_customer.support_rep_id,
        staging_invoice.invoice_date,
        cast(staging_invoice.invoice_date as date) as date_day,
        staging_invoice.billing_address,
        staging_invoice.billing_city,
        staging_invoice.billing_state,
        staging_invoice.billing_country,
        staging_invoice.billing_postal_code,
        staging_invoice.total,
        coalesce(line_totals.line_count, 0) as line_count,
        coalesce(line_totals.units, 0) as units
    from staging_invoice
    left join line_totals
        on line_totals.invoice_id = staging_invoice.invoice_id
    left join dim_customer
        on dim_customer.customer_id = staging_invoice.customer_id
)

select * from final
