with

source as (

    select * from {{ source('engine', 'optimization_iterations') }}

),

renamed as (

    select
        optimization_id,
        iteration,
        kind as iteration_kind,
        parameter_set_id,
        run_id,
        levers as levers_json,
        metrics as metrics_json,
        residuals as residuals_json,
        within_tolerance as is_within_tolerance,
        error as error_message,
        created_at

    from source

)

select * from renamed
