-- §8: every effective date falls inside its simulated year (and so do snapshot hire and
-- termination dates of the year's hires and leavers).

with

events as (

    select run_id, employee_id, simulation_year, event_type, effective_date
    from {{ ref('stg_yearly_events') }}

),

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

event_breaks as (

    select run_id, employee_id, simulation_year, event_type || ' dated outside its year' as failure
    from events
    where year(effective_date) != simulation_year

),

snapshot_breaks as (

    select
        run_id,
        employee_id,
        simulation_year,
        'snapshot hire or termination date outside its year' as failure

    from snapshots
    where (is_new_hire and year(hire_date) != simulation_year)
        or (not is_new_hire and hire_date >= make_date(simulation_year, 1, 1))
        or (termination_date is not null and year(termination_date) != simulation_year)

)

select * from event_breaks
union all
select * from snapshot_breaks
