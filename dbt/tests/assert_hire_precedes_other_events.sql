{#
    §8: a hire precedes every other event of that employee (by year, effective date and
    event sequence); an employee is hired at most once per run, and every new hire of a
    snapshot has the year's hire event.
#}

with

events as (

    select * from {{ ref('stg_yearly_events') }}

),

hires as (

    select
        run_id,
        employee_id,
        simulation_year as hire_year,
        effective_date as hire_date,
        event_sequence as hire_sequence,
        count(*) over (partition by run_id, employee_id) as hires_in_run

    from events
    where event_type = 'hire'

),

repeated as (

    select run_id, employee_id, hire_year as simulation_year, 'hired more than once' as failure
    from hires
    where hires_in_run > 1

),

events_before as (

    select
        events.run_id,
        events.employee_id,
        events.simulation_year,
        'a ' || events.event_type || ' event before the hire' as failure

    from events
    inner join hires using (run_id, employee_id)
    where events.event_type != 'hire'
        and (
            events.simulation_year < hires.hire_year
            or (
                events.simulation_year = hires.hire_year
                and (
                    events.effective_date < hires.hire_date
                    or events.event_sequence < hires.hire_sequence
                )
            )
        )

),

new_hires_without_hire as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        'a new hire without a hire event in the year' as failure

    from {{ ref('stg_workforce_snapshot') }} as snapshots
    left join hires
        on hires.run_id = snapshots.run_id
        and hires.employee_id = snapshots.employee_id
        and hires.hire_year = snapshots.simulation_year
    where snapshots.is_new_hire
        and hires.employee_id is null

)

select * from repeated
union all
select * from events_before
union all
select * from new_hires_without_hire
