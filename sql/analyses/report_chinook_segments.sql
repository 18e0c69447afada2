-- Customers, revenue and recency per RFM segment (Chinook report table).
select
    segment,
    count(*) as customers,
    sum(lifetime_value) as revenue,
    round(avg(recency_days), 1) as average_recency_days,
    round(avg(invoices), 1) as average_invoices
from chinook.customer_segments
group by segment
order by revenue desc, segment
