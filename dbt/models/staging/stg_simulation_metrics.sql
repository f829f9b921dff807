with

source as (

    select * from {{ source('engine', 'simulation_metrics') }}

),

renamed as (

    select
        run_id,
        simulation_year,
        metric_name,
        metric_value,
        simulation_year is null as is_horizon_metric

    from source

)

select * from renamed
