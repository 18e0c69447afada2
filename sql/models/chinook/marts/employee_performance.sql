with

fact_invoice as (
    select * from {{ ref('fact_invoice') }}
),

dim_customer as (
    select * from {{ ref('dim_customer') }}
),

dim_employee as (
    select * from {{ ref('dim_employee') }}
),

rep_customers as (
    select
        support_rep_id as employee_id,
        count(*) as customers
    from dim_customer
    where support_rep_id is not null
    group by support_rep_id
),

-- Sales go to the rep recorded on the invoice (the customer's rep when the day was loaded).
rep_sales as (
    select
        support_rep_id as employee_id,
        count(*) as invoices,
        cast(sum(total) as decimal(18, 2)) as revenue
    from fact_invoice
    where support_rep_id is not null
    group by support_rep_id
),

-- Every invoice's revenue, including any without a support rep: the shares are of the whole.
total_sales as (
    select cast(sum(total) as decimal(18, 2)) as total_revenue
    from fact_invoice
),

support_reps as (
    select employee_id from rep_customers
    union
    select employee_id from rep_sales
),

rep_measures as (
    select
        support_reps.employee_id,
        coalesce(rep_customers.customers, 0) as customers,
        coalesce(rep_sales.invoices, 0) as invoices,
        coalesce(rep_sales.revenue, cast(0 as decimal(18, 2))) as revenue
    from support_reps
    left join rep_customers
        on rep_customers.employee_id = support_reps.employee_id
    left join rep_sales
        on rep_sales.employee_id = support_reps.employee_id
),

final as (
    select
        rep_measures.employee_id,
        dim_employee.full_name,
        dim_employee.title,
        dim_employee.manager_name,
        rep_measures.customers,
        rep_measures.invoices,
        rep_measures.revenue,
        -- ties broken by id, so every rank is unique and stable
        rank() over (order by rep_measures.revenue desc, rep_measures.employee_id) as revenue_rank,
        -- 0 before the first sale (an empty store has no revenue to share, not an unknown one)
        coalesce(
            {{ divide_decimal(
                'rep_measures.revenue', 'total_sales.total_revenue', scale=6, precision=9
            ) }},
            cast(0 as decimal(9, 6))
        ) as revenue_share
    from rep_measures
    cross join total_sales
    left join dim_employee
        on dim_employee.employee_id = rep_measures.employee_id
)

select * from final
