{#
    The horizon metrics of simulation-model.md §7 per run (planwise.metrics.horizon_metrics):
    compensation_growth_cagr = (final year's average salary / baseline average salary)
    ^ (1 / (final year − baseline year)) − 1, and cumulative_compensation_cost = Σ of the
    simulated years' total compensation cost.
#}

with

runs as (

    select * from {{ ref('stg_simulation_runs') }}

),

baselines as (

    select * from {{ ref('int_run_baselines') }}

),

growth as (

    select * from {{ ref('fct_compensation_growth') }}

),

run_totals as (

    select
        run_id,
        min(simulation_year) as first_year,
        max(simulation_year) as final_year,
        count(*) as simulated_years,
        sum(total_compensation_cost) as cumulative_compensation_cost,
        arg_max(average_salary, simulation_year) as final_average_salary

    from growth
    group by run_id

),

final as (

    select
        runs.run_id,
        runs.scenario_id,
        runs.parameter_set_id,
        baselines.simulation_year as baseline_year,
        run_totals.first_year,
        run_totals.final_year,
        run_totals.simulated_years,
        baselines.headcount as baseline_headcount,
        baselines.total_compensation_cost as baseline_total_compensation_cost,
        baselines.average_salary as baseline_average_salary,
        baselines.median_salary as baseline_median_salary,
        run_totals.final_average_salary,
        case
            when baselines.average_salary != 0
                then power(
                    run_totals.final_average_salary / baselines.average_salary,
                    1.0 / (run_totals.final_year - baselines.simulation_year)
                ) - 1
        end as compensation_growth_cagr,
        run_totals.cumulative_compensation_cost

    from runs
    inner join run_totals using (run_id)
    inner join baselines using (run_id)

)

select * from final
