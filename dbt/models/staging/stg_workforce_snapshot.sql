with

source as (

    select * from {{ source('engine', 'fct_workforce_snapshot') }}

),

renamed as (

    select
        run_id,
        simulation_year,
        employee_id,
        birth_date,
        hire_date,
        termination_date,
        start_job_level,
        job_level,
        start_annual_salary,
        annual_salary,
        prorated_compensation,
        employment_status,
        detailed_status_code,
        employment_status = 'active' as is_active,
        detailed_status_code in ('new_hire_active', 'new_hire_termination') as is_new_hire,
        gender

    from source

)

select * from renamed
