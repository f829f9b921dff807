with

run_job_levels as (

    select * from {{ ref('int_run_job_levels') }}

),

runs as (

    select run_id, scenario_id from {{ ref('stg_simulation_runs') }}

),

final as (

    select
        run_job_levels.run_id,
        runs.scenario_id,
        run_job_levels.job_level,
        run_job_levels.job_level_name,
        run_job_levels.min_salary,
        run_job_levels.max_salary,
        run_job_levels.midpoint_salary,
        run_job_levels.hire_mix_share,
        run_job_levels.termination_level_multiplier,
        run_job_levels.is_top_level

    from run_job_levels
    inner join runs using (run_id)

)

select * from final
