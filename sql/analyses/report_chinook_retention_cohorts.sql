-- Retention by first-purchase month and months since (Chinook report heatmap).
select
    cohort_month,
    months_since_first_purchase,
    cohort_size,
    active_customers,
    retention_rate
from chinook.retention_cohorts
order by cohort_month, months_since_first_purchase
