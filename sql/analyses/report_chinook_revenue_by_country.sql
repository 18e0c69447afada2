-- Revenue by the customer's country (lifetime value summed), the 15 largest (Chinook report).
select
    coalesce(country, '(unknown)') as country,
    count(*) as customers,
    sum(lifetime_value) as revenue
from chinook.customer_segments
group by coalesce(country, '(unknown)')
order by revenue desc, country
limit 15
