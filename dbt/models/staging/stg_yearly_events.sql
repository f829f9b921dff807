with

source as (

    select * from {{ source('engine', 'fct_yearly_events') }}

),

renamed as (

    select
        run_id,
        event_id,
        simulation_year,
        employee_id,
        event_type,
        event_sequence,
        effective_date,
        previous_job_level,
        new_job_level,
        previous_salary,
        new_salary,
        new_salary - previous_salary as salary_increase,
        merit_rate,
        performance_rating,
        termination_reason,
        hazard_weight

    from source

)

select * from renamed
