{#
    The cost decomposition is exact: per employee and year, base + new-hire + COLA +
    promotion + merit cost = the engine's prorated_compensation (to the cent), so the
    proration agrees with the event log's dates and amounts.
#}

with

pay as (

    select * from {{ ref('int_employee_year_pay') }}

)

select *
from pay
where abs(
    base_cost + new_hire_cost + cola_cost + promotion_cost + merit_cost - prorated_compensation
) > {{ money_tolerance() }}
