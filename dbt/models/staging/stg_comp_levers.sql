with

source as (

    select * from {{ source('engine', 'comp_levers') }}

),

renamed as (

    select
        parameter_set_id,
        scenario_id,
        fiscal_year,
        job_level,
        upper(event_type) as event_type,
        parameter_name,
        parameter_value,
        is_locked,
        created_at,
        created_by

    from source

)

select * from renamed
