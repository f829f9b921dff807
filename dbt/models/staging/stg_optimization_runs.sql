with

source as (

    select * from {{ source('engine', 'optimization_runs') }}

),

renamed as (

    select
        optimization_id,
        scenario_id,
        status as optimization_status,
        mode as optimization_mode,
        targets as targets_json,
        converged as is_converged,
        iterations,
        simulations,
        replays,
        start_parameter_set_id,
        best_parameter_set_id,
        seed,
        stop_reason,
        report as report_json,
        started_at,
        finished_at

    from source

)

select * from renamed
