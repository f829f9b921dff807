{#
    §8: a new hire's termination date is strictly after the hire date, in the events and
    in the snapshot.
#}

with

events as (

    select * from {{ ref('stg_yearly_events') }}

),

hires as (

    select run_id, employee_id, effective_date as hire_date
    from events
    where event_type = 'hire'

),

event_breaks as (

    select
        events.run_id,
        events.employee_id,
        events.simulation_year,
        'termination event on or before the hire date' as failure

    from events
    inner join hires using (run_id, employee_id)
    where events.event_type = 'termination'
        and events.effective_date <= hires.hire_date

),

snapshot_breaks as (

    select
        run_id,
        employee_id,
        simulation_year,
        'new_hire_termination dated on or before the hire date' as failure

    from {{ ref('stg_workforce_snapshot') }}
    where detailed_status_code = 'new_hire_termination'
        and (termination_date is null or termination_date <= hire_date)

)

select * from event_breaks
union all
select * from snapshot_breaks
