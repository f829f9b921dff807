with

source as (

    select * from {{ source('engine', 'census') }}

),

renamed as (

    select
        census_id,
        employee_id,
        birth_date,
        hire_date,
        termination_date,
        active as is_active,
        job_level,
        job_level_source,
        annual_salary,
        gender,
        department,
        in_starting_workforce

    from source

)

select * from renamed
