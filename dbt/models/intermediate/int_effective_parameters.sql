{#
    Lever resolution of simulation-model.md §4 (planwise.parameters.levers.resolve_levers):
    for (parameter set, year, level, parameter), the set's own row, else the default
    scenario's active set's row, else the built-in default; within a set, a year with no
    row takes the nearest earlier fiscal year's row. A set of the default scenario has no
    second layer.
#}

with

parameter_sets as (

    select parameter_set_id, scenario_id from {{ ref('stg_parameter_sets') }}

),

levers as (

    select * from {{ ref('stg_comp_levers') }}

),

lever_defaults as (

    select * from {{ ref('lever_defaults') }}

),

runs as (

    select * from {{ ref('stg_simulation_runs') }}

),

run_job_levels as (

    select * from {{ ref('int_run_job_levels') }}

),

active_default_set as (

    select parameter_set_id
    from {{ ref('stg_parameter_sets') }}
    where scenario_id = 'default' and is_active

),

year_bounds as (

    select
        min(fiscal_year) as first_year,
        max(fiscal_year) as last_year

    from (
        select fiscal_year from levers
        union all
        select start_year from runs
        union all
        select end_year from runs
    )

),

fiscal_years as (

    select unnest(generate_series(first_year, last_year)) as fiscal_year
    from year_bounds
    where first_year is not null

),

job_levels as (

    select job_level from lever_defaults
    union
    select job_level from levers
    union
    select job_level from run_job_levels

),

parameters as (

    select distinct parameter_name, event_type from lever_defaults

),

grid as (

    select
        parameter_sets.parameter_set_id,
        parameter_sets.scenario_id,
        fiscal_years.fiscal_year,
        job_levels.job_level,
        parameters.parameter_name,
        parameters.event_type

    from parameter_sets
    cross join fiscal_years
    cross join job_levels
    cross join parameters

),

own_rows as (

    select
        grid.parameter_set_id,
        grid.fiscal_year,
        grid.job_level,
        grid.parameter_name,
        levers.parameter_value,
        levers.is_locked,
        levers.parameter_set_id as source_parameter_set_id,
        levers.fiscal_year as source_fiscal_year

    from grid
    inner join levers
        on levers.parameter_set_id = grid.parameter_set_id
        and levers.parameter_name = grid.parameter_name
        and levers.job_level = grid.job_level
        and levers.fiscal_year <= grid.fiscal_year

    qualify row_number() over (
        partition by grid.parameter_set_id, grid.fiscal_year, grid.job_level, grid.parameter_name
        order by levers.fiscal_year desc
    ) = 1

),

default_scenario_rows as (

    select
        grid.parameter_set_id,
        grid.fiscal_year,
        grid.job_level,
        grid.parameter_name,
        levers.parameter_value,
        levers.is_locked,
        levers.parameter_set_id as source_parameter_set_id,
        levers.fiscal_year as source_fiscal_year

    from grid
    inner join active_default_set on true
    inner join levers
        on levers.parameter_set_id = active_default_set.parameter_set_id
        and levers.parameter_name = grid.parameter_name
        and levers.job_level = grid.job_level
        and levers.fiscal_year <= grid.fiscal_year

    where grid.scenario_id != 'default'

    qualify row_number() over (
        partition by grid.parameter_set_id, grid.fiscal_year, grid.job_level, grid.parameter_name
        order by levers.fiscal_year desc
    ) = 1

),

built_in as (

    -- A level past the last declared one takes the last level's default, as the core does.
    select
        grid.parameter_set_id,
        grid.fiscal_year,
        grid.job_level,
        grid.parameter_name,
        lever_defaults.default_value

    from grid
    inner join lever_defaults
        on lever_defaults.parameter_name = grid.parameter_name
        and lever_defaults.job_level = least(
            grid.job_level,
            (select max(job_level) from lever_defaults)
        )

),

resolved as (

    select
        grid.parameter_set_id,
        grid.scenario_id,
        grid.fiscal_year,
        grid.job_level,
        grid.parameter_name,
        grid.event_type,
        coalesce(
            own_rows.parameter_value,
            default_scenario_rows.parameter_value,
            built_in.default_value
        ) as parameter_value,
        coalesce(own_rows.is_locked, default_scenario_rows.is_locked, false) as is_locked,
        case
            when own_rows.parameter_value is not null then 'scenario'
            when default_scenario_rows.parameter_value is not null then 'default scenario'
            else 'built-in'
        end as source,
        coalesce(own_rows.source_parameter_set_id, default_scenario_rows.source_parameter_set_id)
            as source_parameter_set_id,
        coalesce(own_rows.source_fiscal_year, default_scenario_rows.source_fiscal_year)
            as source_fiscal_year

    from grid
    left join own_rows
        using (parameter_set_id, fiscal_year, job_level, parameter_name)
    left join default_scenario_rows
        using (parameter_set_id, fiscal_year, job_level, parameter_name)
    left join built_in
        using (parameter_set_id, fiscal_year, job_level, parameter_name)

)

select * from resolved
