with

staging_customer as (
    select * from {{ source('chinook', 'staging_customer') }}
),

dim_employee as (
    select * from {{ ref('dim_employee') }}
),

final as (
    select
        staging_customer.customer_id,
        staging_customer.first_name,
        staging_customer.last_name,
        staging_customer.first_name || ' ' || staging_customer.last_name as full_name,
        staging_customer.company,
        staging_customer.email,
        staging_customer.phone,
        staging_customer.fax,
        staging_customer.address,
        staging_customer.city,
        staging_customer.state,
        staging_customer.country,
        staging_customer.postal_code,
        staging_customer.support_rep_id,
        support_reps.full_name as support_rep_name
    from staging_customer
    left join dim_employee as support_reps
        on support_reps.employee_id = staging_customer.support_rep_id
)

select * from final
