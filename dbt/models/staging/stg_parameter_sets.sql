with

source as (

    select * from {{ source('engine', 'parameter_sets') }}

),

renamed as (

    select
        parameter_set_id,
        scenario_id,
        parent_id as parent_parameter_set_id,
        is_active,
        created_at,
        created_by,
        source as parameter_set_source,
        note

    from source

)

select * from renamed
