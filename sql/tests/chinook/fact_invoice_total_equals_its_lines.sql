{{ config(meta={'dagster': {'ref': {'name': 'fact_invoice'}}}) }}
-- Reconciliation (blocking): every invoice's total equals the sum of its lines' amounts, to
-- the cent, and every day's revenue is the same whichever fact it is read from.

with

invoices as (
    select
        invoice_id,
        date_day,
        total
    from {{ ref('fact_invoice') }}
    where invoice_date >= {{ window_start() }}
        and invoice_date < {{ window_end() }}
),

lines as (
    select
        invoice_id,
        sum(line_amount) as line_total
    from {{ ref('fact_invoice_line') }}
    where invoice_date >= {{ window_start() }}
        and invoice_date < {{ window_end() }}
    group by invoice_id
),

invoice_mismatches as (
    select
        cast(invoices.invoice_id as varchar) as what,
        invoices.total as invoice_side,
        coalesce(lines.line_total, 0) as line_side
    from invoices
    left join lines on lines.invoice_id = invoices.invoice_id
    where invoices.total <> coalesce(lines.line_total, 0)
),

orphan_lines as (
    select
        cast(lines.invoice_id as varchar) as what,
        cast(null as decimal(12, 2)) as invoice_side,
        lines.line_total as line_side
    from lines
    left join invoices on invoices.invoice_id = lines.invoice_id
    where invoices.invoice_id is null
)

select * from invoice_mismatches
union all
select * from orphan_lines
