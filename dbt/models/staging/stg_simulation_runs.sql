with

source as (

    -- A run is visible once completed: a large run is committed in parts, and a part
    -- left by a run that failed or was killed is never read.
    select * from {{ source('engine', 'simulation_runs') }}
    where status = 'completed'

),

renamed as (

    select
        run_id,
        scenario_id,
        parameter_set_id,
        census_id,
        seed,
        start_year,
        end_year,
        end_year - start_year + 1 as simulated_years,
        status as run_status,
        started_at,
        finished_at,
        code_version,
        purpose as run_purpose,
        optimization_id,
        settings_json,
        cast(settings_json ->> '$.target_growth_rate' as double) as target_growth_rate,
        cast(settings_json ->> '$.termination_rate' as double) as termination_rate,
        cast(settings_json ->> '$.new_hire_termination_rate' as double)
            as new_hire_termination_rate

    from source

)

select * from renamed
