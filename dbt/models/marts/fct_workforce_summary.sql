{#
    Headcount flows per run, year, job level and detailed_status_code. Each employee of the
    year's snapshot enters at their Jan 1 level (starting_headcount) or hire level (hires),
    may move up (promotions_out of the start level, promotions_in to the year-end level),
    and ends at their year-end level as an active (ending_headcount) or a leaver
    (terminations). So on every row:
    starting_headcount + hires + promotions_in − promotions_out − terminations = ending_headcount.
#}

with

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

movements as (

    select
        run_id,
        simulation_year,
        start_job_level as job_level,
        detailed_status_code,
        case when not is_new_hire then 1 else 0 end as starting_headcount,
        case when is_new_hire then 1 else 0 end as hires,
        0 as promotions_in,
        case when job_level > start_job_level then 1 else 0 end as promotions_out,
        0 as terminations,
        0 as ending_headcount,
        0.0 as ending_annual_salary,
        0.0 as prorated_compensation

    from snapshots

    union all

    select
        run_id,
        simulation_year,
        job_level,
        detailed_status_code,
        0 as starting_headcount,
        0 as hires,
        case when job_level > start_job_level then 1 else 0 end as promotions_in,
        0 as promotions_out,
        case when not is_active then 1 else 0 end as terminations,
        case when is_active then 1 else 0 end as ending_headcount,
        case when is_active then annual_salary else 0 end as ending_annual_salary,
        prorated_compensation

    from snapshots

),

flows as (

    select
        run_id,
        simulation_year,
        job_level,
        detailed_status_code,
        sum(starting_headcount) as starting_headcount,
        sum(hires) as hires,
        sum(promotions_in) as promotions_in,
        sum(promotions_out) as promotions_out,
        sum(terminations) as terminations,
        sum(ending_headcount) as ending_headcount,
        sum(ending_annual_salary) as ending_annual_salary_total,
        sum(prorated_compensation) as prorated_compensation_total

    from movements
    group by run_id, simulation_year, job_level, detailed_status_code

),

final as (

    select
        run_id,
        simulation_year,
        job_level,
        detailed_status_code,
        case
            when detailed_status_code in ('continuous_active', 'new_hire_active') then 'active'
            else 'terminated'
        end as employment_status,
        cast(starting_headcount as bigint) as starting_headcount,
        cast(hires as bigint) as hires,
        cast(promotions_in as bigint) as promotions_in,
        cast(promotions_out as bigint) as promotions_out,
        cast(terminations as bigint) as terminations,
        cast(ending_headcount as bigint) as ending_headcount,
        ending_annual_salary_total,
        prorated_compensation_total

    from flows

)

select * from final
