{#
    §8: at most one termination per employee per run, and no event after it (by year,
    effective date and event sequence); a leaver is in no later year's snapshot.
#}

with

events as (

    select * from {{ ref('stg_yearly_events') }}

),

terminations as (

    select
        run_id,
        employee_id,
        simulation_year as termination_year,
        effective_date as termination_date,
        event_sequence as termination_sequence,
        count(*) over (partition by run_id, employee_id) as terminations_in_run

    from events
    where event_type = 'termination'

),

repeated as (

    select
        run_id,
        employee_id,
        termination_year as simulation_year,
        'more than one termination in the run' as failure

    from terminations
    where terminations_in_run > 1

),

events_after as (

    select
        events.run_id,
        events.employee_id,
        events.simulation_year,
        'a ' || events.event_type || ' event after the termination' as failure

    from events
    inner join terminations using (run_id, employee_id)
    where events.event_type != 'termination'
        and (
            events.simulation_year > terminations.termination_year
            or (
                events.simulation_year = terminations.termination_year
                and (
                    events.effective_date > terminations.termination_date
                    or events.event_sequence > terminations.termination_sequence
                )
            )
        )

),

snapshots_after as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        'in a snapshot after the termination year' as failure

    from {{ ref('stg_workforce_snapshot') }} as snapshots
    inner join terminations using (run_id, employee_id)
    where snapshots.simulation_year > terminations.termination_year

)

select * from repeated
union all
select * from events_after
union all
select * from snapshots_after
