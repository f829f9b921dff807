{#
    Architecture decision 6: the metrics are defined once, and the SQL marts agree with
    the core's stored figures (simulation_metrics) for every run, year and metric of §7,
    the baseline and the horizon: currency to the cent, counts exactly, rates and ratios
    within 1e-9. A metric missing on either side, or null on one side only, fails.
#}

with

growth as (

    select
        run_id,
        simulation_year,
        cast(headcount as double) as headcount,
        headcount_growth,
        total_compensation_cost,
        total_compensation_cost_growth,
        average_salary,
        median_salary,
        average_compensation_growth,
        continuing_salary_growth,
        median_merit_increase,
        merit_spend,
        cola_spend,
        promotion_spend,
        new_hire_pay_ratio,
        pay_dispersion,
        gender_pay_gap

    from {{ ref('fct_compensation_growth') }}

),

baselines as (

    select
        run_id,
        simulation_year,
        cast(headcount as double) as headcount,
        total_compensation_cost,
        average_salary,
        median_salary

    from {{ ref('int_run_baselines') }}

),

horizon as (

    select
        run_id,
        cast(null as integer) as simulation_year,
        compensation_growth_cagr,
        cumulative_compensation_cost

    from {{ ref('fct_compensation_horizon') }}

),

engine as (

    select run_id, simulation_year, metric_name, metric_value
    from {{ ref('stg_simulation_metrics') }}

),

mart_years as (

    select *
    from growth
    unpivot include nulls (
        metric_value for metric_name in (
            headcount,
            headcount_growth,
            total_compensation_cost,
            total_compensation_cost_growth,
            average_salary,
            median_salary,
            average_compensation_growth,
            continuing_salary_growth,
            median_merit_increase,
            merit_spend,
            cola_spend,
            promotion_spend,
            new_hire_pay_ratio,
            pay_dispersion,
            gender_pay_gap
        )
    )

),

mart_baselines as (

    select *
    from baselines
    unpivot include nulls (
        metric_value for metric_name in (
            headcount,
            total_compensation_cost,
            average_salary,
            median_salary
        )
    )

),

mart_horizon as (

    select *
    from horizon
    unpivot include nulls (
        metric_value for metric_name in (
            compensation_growth_cagr,
            cumulative_compensation_cost
        )
    )

),

marts as (

    select * from mart_years
    union all
    select * from mart_baselines
    union all
    select * from mart_horizon

),

compared as (

    select
        coalesce(marts.run_id, engine.run_id) as run_id,
        coalesce(marts.simulation_year, engine.simulation_year) as simulation_year,
        coalesce(marts.metric_name, engine.metric_name) as metric_name,
        marts.metric_value as mart_value,
        engine.metric_value as engine_value,
        marts.metric_name is not null as in_mart,
        engine.metric_name is not null as in_engine,
        case
            when coalesce(marts.metric_name, engine.metric_name) in (
                'total_compensation_cost', 'average_salary', 'median_salary', 'merit_spend',
                'cola_spend', 'promotion_spend', 'cumulative_compensation_cost'
            ) then {{ money_tolerance() }}
            when coalesce(marts.metric_name, engine.metric_name) = 'headcount' then 0
            else 1e-9
        end as tolerance

    from marts
    full outer join engine
        on engine.run_id = marts.run_id
        and engine.simulation_year is not distinct from marts.simulation_year
        and engine.metric_name = marts.metric_name

)

select *
from compared
where not in_mart
    or not in_engine
    or (mart_value is null) != (engine_value is null)
    or abs(mart_value - engine_value) > tolerance
