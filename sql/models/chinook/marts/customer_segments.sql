with

fact_invoice as (
    select * from {{ ref('fact_invoice') }}
),

dim_customer as (
    select * from {{ ref('dim_customer') }}
),

-- Recency is measured against the latest invoice day in the data, not today, so a rebuild on
-- the same data gives the same segments.
latest_invoice as (
    select max(date_day) as latest_invoice_date
    from fact_invoice
),

customer_sales as (
    select
        customer_id,
        min(date_day) as first_purchase_date,
        max(date_day) as last_purchase_date,
        count(*) as invoices,
        cast(sum(total) as decimal(18, 2)) as lifetime_value
    from fact_invoice
    group by customer_id
),

rfm as (
    select
        customer_sales.customer_id,
        customer_sales.first_purchase_date,
        customer_sales.last_purchase_date,
        customer_sales.invoices,
        customer_sales.lifetime_value,
        {{ divide_decimal(
            'customer_sales.lifetime_value', 'customer_sales.invoices', scale=2, precision=12
        ) }} as average_order_value,
        cast({{ dbt.datediff(
            'customer_sales.last_purchase_date', 'latest_invoice.latest_invoice_date', 'day'
        ) }} as integer) as recency_days,
        customer_sales.invoices as frequency,
        customer_sales.lifetime_value as monetary
    from customer_sales
    cross join latest_invoice
),

-- Quintiles, 5 = best: the most recent, the most frequent, the biggest spenders. Equal values
-- are split between quintiles by customer_id, so the scores are stable.
scored as (
    select
        rfm.*,
        cast(ntile(5) over (order by rfm.recency_days desc, rfm.customer_id) as integer) as r_score,
        cast(ntile(5) over (order by rfm.frequency, rfm.customer_id) as integer) as f_score,
        cast(ntile(5) over (order by rfm.monetary, rfm.customer_id) as integer) as m_score
    from rfm
),

-- Segment rules, the first that matches wins:
--   Champions    r >= 4 and f >= 4 and m >= 4   bought recently, often and the most
--   Loyal        r >= 3 and f >= 4              buy often and still fairly recently
--   New          r >= 4 and f <= 2              bought recently but rarely so far
--   At risk      r <= 2 and f >= 3              used to buy often, silent lately
--   Hibernating  r <= 2 and f <= 2              bought rarely and long ago
--   Other        everyone else
final as (
    select
        scored.customer_id,
        dim_customer.full_name,
        dim_customer.city,
        dim_customer.country,
        dim_customer.support_rep_id,
        scored.first_purchase_date,
        scored.last_purchase_date,
        scored.invoices,
        scored.lifetime_value,
        scored.average_order_value,
        scored.recency_days,
        scored.frequency,
        scored.monetary,
        scored.r_score,
        scored.f_score,
        scored.m_score,
        case
            when scored.r_score >= 4 and scored.f_score >= 4 and scored.m_score >= 4
                then 'Champions'
            when scored.r_score >= 3 and scored.f_score >= 4 then 'Loyal'
            when scored.r_score >= 4 and scored.f_score <= 2 then 'New'
            when scored.r_score <= 2 and scored.f_score >= 3 then 'At risk'
            when scored.r_score <= 2 and scored.f_score <= 2 then 'Hibernating'
            else 'Other'
        end as segment
    from scored
    left join dim_customer
        on dim_customer.customer_id = scored.customer_id
)

select * from final
