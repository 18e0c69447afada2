-- Support reps ranked by the revenue of their customers' invoices (Chinook report).
select
    revenue_rank,
    coalesce(full_name, 'employee ' || cast(employee_id as varchar(20))) as full_name,
    customers,
    invoices,
    revenue,
    revenue_share
from chinook.employee_performance
order by revenue_rank
