with

source as (

    select * from {{ source('engine', 'scenarios') }}

),

renamed as (

    select
        scenario_id,
        created_from,
        created_at,
        created_by,
        note

    from source

)

select * from renamed
