{#- How many levels of managers the hierarchy follows (the employee itself is level 0).
    Chinook has 3 levels; an employee further than max_levels - 1 steps below the top (or in a
    reporting cycle) gets NULL depth and path, which the not_null tests report. -#}
{%- set max_levels = 6 -%}

with

staging_employee as (
    select * from {{ source('chinook', 'staging_employee') }}
),

employees as (
    select
        employee_id,
        first_name,
        last_name,
        first_name || ' ' || last_name as full_name,
        title,
        reports_to as manager_id,
        cast(birth_date as date) as birth_date,
        cast(hire_date as date) as hire_date,
        address,
        city,
        state,
        country,
        postal_code,
        phone,
        fax,
        email
    from staging_employee
),

-- level_0 is the employee, level_1 its manager, level_2 the manager's manager … A fixed number
-- of self-joins rather than a recursive CTE, so the model also runs on Redshift.
hierarchy as (
    select
        level_0.employee_id,
        {%- for level in range(max_levels) %}
            level_{{ level }}.employee_id as level_{{ level }}_id,
            level_{{ level }}.full_name as level_{{ level }}_name,
        {%- endfor %}
        level_{{ max_levels - 1 }}.manager_id as beyond_top_level_id
    from employees as level_0
    {%- for level in range(1, max_levels) %}
        left join employees as level_{{ level }}
            on level_{{ level }}.employee_id = level_{{ level - 1 }}.manager_id
    {%- endfor %}
),

-- The top is the highest level found; a manager_id pointing to no employee ends the chain
-- there too (the relationships test on manager_id reports it).
hierarchy_paths as (
    select
        employee_id,
        case
            when beyond_top_level_id is not null then null
            {%- for level in range(max_levels - 1, -1, -1) %}
                when level_{{ level }}_id is not null then {{ level }}
            {%- endfor %}
        end as hierarchy_depth,
        case
            when beyond_top_level_id is not null then null
            {%- for level in range(max_levels - 1, -1, -1) %}
                {#- e.g. level_2_name || ' > ' || level_1_name || ' > ' || level_0_name #}
                {%- set steps = range(level, -1, -1) %}
                when level_{{ level }}_id is not null
                    then {{ 'level_' ~ (steps | join("_name || ' > ' || level_")) ~ '_name' }}
            {%- endfor %}
        end as hierarchy_path
    from hierarchy
),

final as (
    select
        employees.employee_id,
        employees.first_name,
        employees.last_name,
        employees.full_name,
        employees.title,
        employees.manager_id,
        managers.full_name as manager_name,
        hierarchy_paths.hierarchy_depth,
        hierarchy_paths.hierarchy_path,
        employees.birth_date,
        employees.hire_date,
        employees.address,
        employees.city,
        employees.state,
        employees.country,
        employees.postal_code,
        employees.phone,
        employees.fax,
        employees.email
    from employees
    inner join hierarchy_paths
        on hierarchy_paths.employee_id = employees.employee_id
    left join employees as managers
        on managers.employee_id = employees.manager_id
)

select * from final
