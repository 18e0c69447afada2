-- Revenue, invoices and customers per calendar month (Chinook report).
select
    month_start,
    revenue,
    invoices,
    customers
from chinook.sales_monthly
order by month_start
