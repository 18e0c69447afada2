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

staging_invoice_line as (
    select * from {{ source('chinook', 'staging_invoice_line') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

staging_invoice as (
    select * from {{ source('chinook', 'staging_invoice') }}
    where partition_date >= {{ window_start() }}
        and partition_date < {{ window_end() }}
),

-- The loader stages a line only with its invoice, on the same day: the inner join keeps all.
final as (
    select
        staging_invoice_line.invoice_line_id,
        staging_invoice_line.invoice_id,
        staging_invoice.customer_id,
        staging_invoice_line.track_id,
        staging_invoice.invoice_date,
        cast(staging_invoice.invoice_date as date) as date_day,
        staging_invoice_line.unit_price,
        staging_invoice_line.quantity,
        cast(staging_invoice_line.unit_price * staging_invoice_line.quantity as decimal(12, 2))
            as line_amount
    from staging_invoice_line
    inner join staging_invoice
        on staging_invoice.invoice_id = staging_invoice_line.invoice_id
)

select * from final
