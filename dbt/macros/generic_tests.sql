{#
    Generic data tests the project needs beyond dbt's built-ins (no package dependency,
    so `dbt deps` and network access are never needed).
#}

{% test unique_combination_of_columns(model, combination_of_columns) %}

with

grouped as (

    select
        {{ combination_of_columns | join(', ') }},
        count(*) as row_count

    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}

)

select * from grouped
where row_count > 1

{% endtest %}


{% test relationships_composite(model, to, columns) %}

with

child as (

    select distinct {{ columns | join(', ') }}
    from {{ model }}

),

parent as (

    select distinct {{ columns | join(', ') }}
    from {{ to }}

)

select child.*
from child
anti join parent using ({{ columns | join(', ') }})

{% endtest %}
