with

fact_invoice as (
    select * from {{ ref('fact_invoice') }}
),

dim_date as (
    select * from {{ ref('dim_date') }}
),

customer_months as (
    select distinct
        customer_id,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as activity_month
    from fact_invoice
),

first_purchases as (
    select
        customer_id,
        min(activity_month) as cohort_month
    from customer_months
    group by customer_id
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from first_purchases
    group by cohort_month
),

-- Every month from the first cohort to the latest month with sales (dim_date starts at the
-- first invoice day), so months without returning customers appear with 0.
calendar_months as (
    select distinct month_start as activity_month
    from dim_date
    where month_start <= (select max(customer_months.activity_month) from customer_months)
),

cohort_activity as (
    select
        first_purchases.cohort_month,
        customer_months.activity_month,
        count(*) as active_customers
    from customer_months
    inner join first_purchases
        on first_purchases.customer_id = customer_months.customer_id
    group by first_purchases.cohort_month, customer_months.activity_month
),

final as (
    select
        cohort_sizes.cohort_month,
        calendar_months.activity_month,
        cast({{ dbt.datediff(
            'cohort_sizes.cohort_month', 'calendar_months.activity_month', 'month'
        ) }} as integer) as months_since_first_purchase,
        cohort_sizes.cohort_size,
        coalesce(cohort_activity.active_customers, 0) as active_customers,
        {{ divide_decimal(
            'coalesce(cohort_activity.active_customers, 0)', 'cohort_sizes.cohort_size',
            scale=6, precision=9
        ) }} as retention_rate
    from cohort_sizes
    inner join calendar_months
        on calendar_months.activity_month >= cohort_sizes.cohort_month
    left join cohort_activity
        on cohort_activity.cohort_month = cohort_sizes.cohort_month
        and cohort_activity.activity_month = calendar_months.activity_month
)

select * from final
