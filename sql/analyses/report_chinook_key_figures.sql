-- Key figures of the Chinook report (music_dwh/assets/reports.py): one row.
select
    sales.first_day,
    sales.last_day,
    sales.sales_days,
    sales.invoices,
    sales.revenue,
    customers.customers,
    customers.average_order_value,
    customers.average_lifetime_value
from (
    select
        min(date_day) as first_day,
        max(date_day) as last_day,
        count(*) as sales_days,
        sum(invoices) as invoices,
        sum(revenue) as revenue
    from chinook.sales_daily
) as sales
cross join (
    select
        count(*) as customers,
        round(sum(lifetime_value) / nullif(sum(invoices), 0), 2) as average_order_value,
        round(avg(lifetime_value), 2) as average_lifetime_value
    from chinook.customer_segments
) as customers
