{#
    Every per-year metric of simulation-model.md §7, computed from the snapshots and
    events, with the definitions (and choices) of planwise.metrics.year_metrics.
    "Actives" are the employees active at Dec 31. Growth compares with the run's year
    before; for the first simulated year that is the baseline (int_run_baselines).
#}

with

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

events as (

    select * from {{ ref('stg_yearly_events') }}

),

runs as (

    select run_id, scenario_id, parameter_set_id from {{ ref('stg_simulation_runs') }}

),

baselines as (

    select * from {{ ref('int_run_baselines') }}

),

actives as (

    select * from snapshots where is_active

),

year_costs as (

    select
        run_id,
        simulation_year,
        sum(prorated_compensation) as total_compensation_cost

    from snapshots
    group by run_id, simulation_year

),

year_salaries as (

    select
        run_id,
        simulation_year,
        count(*) as headcount,
        avg(annual_salary) as average_salary,
        quantile_cont(annual_salary, 0.5) as median_salary

    from actives
    group by run_id, simulation_year

),

continuing_growth as (

    select
        run_id,
        simulation_year,
        avg(annual_salary / start_annual_salary) - 1 as continuing_salary_growth

    from snapshots
    where detailed_status_code = 'continuous_active'
    group by run_id, simulation_year

),

raise_spend as (

    select
        run_id,
        simulation_year,
        quantile_cont(merit_rate, 0.5) filter (where event_type = 'merit_increase')
            as median_merit_increase,
        coalesce(sum(salary_increase) filter (where event_type = 'merit_increase'), 0)
            as merit_spend,
        coalesce(sum(salary_increase) filter (where event_type = 'cola'), 0) as cola_spend,
        coalesce(sum(salary_increase) filter (where event_type = 'promotion'), 0)
            as promotion_spend

    from events
    group by run_id, simulation_year

),

level_salaries as (

    select
        run_id,
        simulation_year,
        job_level,
        count(*) as level_headcount,
        stddev_pop(annual_salary) / avg(annual_salary) as coefficient_of_variation,
        quantile_cont(annual_salary, 0.5) filter (
            where detailed_status_code = 'new_hire_active'
        ) as new_hire_median_salary,
        quantile_cont(annual_salary, 0.5) filter (
            where detailed_status_code = 'continuous_active'
        ) as continuing_median_salary

    from actives
    group by run_id, simulation_year, job_level

),

level_summary as (

    -- new_hire_pay_ratio: per-level ratios weighted by the level's active headcount,
    -- over the levels with both new-hire and continuing actives.
    select
        run_id,
        simulation_year,
        avg(coefficient_of_variation) as pay_dispersion,
        sum(new_hire_median_salary / continuing_median_salary * level_headcount) filter (
            where new_hire_median_salary is not null and continuing_median_salary is not null
        ) / sum(level_headcount) filter (
            where new_hire_median_salary is not null and continuing_median_salary is not null
        ) as new_hire_pay_ratio

    from level_salaries
    group by run_id, simulation_year

),

gender_medians as (

    select
        run_id,
        simulation_year,
        quantile_cont(annual_salary, 0.5) filter (where gender = 'F') as female_median_salary,
        quantile_cont(annual_salary, 0.5) filter (where gender = 'M') as male_median_salary

    from actives
    group by run_id, simulation_year

),

simulated_years as (

    select
        year_costs.run_id,
        year_costs.simulation_year,
        coalesce(year_salaries.headcount, 0) as headcount,
        year_costs.total_compensation_cost,
        year_salaries.average_salary,
        year_salaries.median_salary,
        continuing_growth.continuing_salary_growth,
        raise_spend.median_merit_increase,
        coalesce(raise_spend.merit_spend, 0) as merit_spend,
        coalesce(raise_spend.cola_spend, 0) as cola_spend,
        coalesce(raise_spend.promotion_spend, 0) as promotion_spend,
        level_summary.new_hire_pay_ratio,
        level_summary.pay_dispersion,
        1 - gender_medians.female_median_salary / gender_medians.male_median_salary
            as gender_pay_gap

    from year_costs
    left join year_salaries using (run_id, simulation_year)
    left join continuing_growth using (run_id, simulation_year)
    left join raise_spend using (run_id, simulation_year)
    left join level_summary using (run_id, simulation_year)
    left join gender_medians using (run_id, simulation_year)

),

with_baseline as (

    select
        run_id,
        simulation_year,
        headcount,
        total_compensation_cost,
        average_salary,
        true as is_baseline

    from baselines

    union all

    select
        run_id,
        simulation_year,
        headcount,
        total_compensation_cost,
        average_salary,
        false as is_baseline

    from simulated_years

),

year_before as (

    select
        run_id,
        simulation_year,
        is_baseline,
        lag(headcount) over by_year as previous_headcount,
        lag(total_compensation_cost) over by_year as previous_total_compensation_cost,
        lag(average_salary) over by_year as previous_average_salary

    from with_baseline
    window by_year as (partition by run_id order by simulation_year)

),

final as (

    select
        simulated_years.run_id,
        runs.scenario_id,
        runs.parameter_set_id,
        simulated_years.simulation_year,
        simulated_years.headcount,
        simulated_years.headcount / nullif(year_before.previous_headcount, 0) - 1
            as headcount_growth,
        simulated_years.total_compensation_cost,
        simulated_years.total_compensation_cost
        / nullif(year_before.previous_total_compensation_cost, 0) - 1
            as total_compensation_cost_growth,
        simulated_years.average_salary,
        simulated_years.median_salary,
        simulated_years.average_salary / nullif(year_before.previous_average_salary, 0) - 1
            as average_compensation_growth,
        simulated_years.continuing_salary_growth,
        simulated_years.median_merit_increase,
        simulated_years.merit_spend,
        simulated_years.cola_spend,
        simulated_years.promotion_spend,
        simulated_years.new_hire_pay_ratio,
        simulated_years.pay_dispersion,
        simulated_years.gender_pay_gap

    from simulated_years
    inner join year_before
        using (run_id, simulation_year)
    left join runs
        using (run_id)

    where not year_before.is_baseline

)

select * from final
