{#
    The year's compensation cost by component, per run, year and year-end job level; the
    five components sum to total_compensation_cost (Σ prorated_compensation). See
    int_employee_year_pay for the decomposition.
#}

with

pay as (

    select * from {{ ref('int_employee_year_pay') }}

),

by_level as (

    select
        run_id,
        simulation_year,
        job_level,
        count(*) as employees_paid,
        sum(base_cost) as base_cost,
        sum(cola_cost) as cola_cost,
        sum(merit_cost) as merit_cost,
        sum(promotion_cost) as promotion_cost,
        sum(new_hire_cost) as new_hire_cost,
        sum(prorated_compensation) as total_compensation_cost,
        sum(cola_spend) as cola_spend,
        sum(merit_spend) as merit_spend,
        sum(promotion_spend) as promotion_spend

    from pay
    group by run_id, simulation_year, job_level

)

select * from by_level
