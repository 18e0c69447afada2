{# Generic data tests written here because dbt packages (dbt_utils) cannot be installed. #}

{# Model-level: no two rows share the same values in these columns (NULLs compare equal). #}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select
    {{ combination_of_columns | join(', ') }},
    count(*) as occurrences
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{# Model-level: every row satisfies the SQL condition `expression` (NULL counts as a failure). #}
{% test expression_is_true(model, expression) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
