with

source as (

    select * from {{ source('engine', 'census_versions') }}

),

renamed as (

    select
        census_id,
        source as census_source,
        row_count,
        starting_headcount,
        as_of_date,
        imported_at,
        is_active,
        note

    from source

)

select * from renamed
