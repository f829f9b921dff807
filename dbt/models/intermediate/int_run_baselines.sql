{#
    The baseline of each run (planwise.metrics.baseline_summary): the starting workforce with
    its census salaries, labelled as the year before the start year. It is what the first
    simulated year's growth metrics compare against.
#}

with

runs as (

    select run_id, census_id, start_year from {{ ref('stg_simulation_runs') }}

),

starting_workforce as (

    select census_id, annual_salary
    from {{ ref('stg_census') }}
    where in_starting_workforce

),

baselines as (

    select
        runs.run_id,
        runs.start_year - 1 as simulation_year,
        count(starting_workforce.annual_salary) as headcount,
        coalesce(sum(starting_workforce.annual_salary), 0) as total_compensation_cost,
        avg(starting_workforce.annual_salary) as average_salary,
        quantile_cont(starting_workforce.annual_salary, 0.5) as median_salary

    from runs
    left join starting_workforce
        on starting_workforce.census_id = runs.census_id

    group by runs.run_id, runs.start_year

)

select * from baselines
