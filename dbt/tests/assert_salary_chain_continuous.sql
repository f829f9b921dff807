{#
    §8: the salary chain is continuous. Within a run, employee and year, ordered by
    event_sequence, each event's previous_salary is the previous event's new_salary, or
    the snapshot's start_annual_salary for the first event (a hire's new_salary is the
    start salary); the year-end annual_salary is the last event's new_salary (the start
    salary when nothing happened); a year's start salary is the year before's end, and the
    first year's is the census salary. Compared to the cent.
#}

with

events as (

    select * from {{ ref('stg_yearly_events') }}

),

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

chained as (

    select
        events.*,
        lag(events.new_salary) over by_sequence as prior_new_salary,
        lead(events.event_sequence) over by_sequence is null as is_last_event

    from events
    window by_sequence as (
        partition by run_id, employee_id, simulation_year order by event_sequence
    )

),

event_breaks as (

    select
        chained.run_id,
        chained.employee_id,
        chained.simulation_year,
        chained.event_sequence,
        case
            when chained.event_type = 'hire'
                and abs(chained.new_salary - snapshots.start_annual_salary)
                > {{ money_tolerance() }}
                then 'hire salary != start_annual_salary'
            when chained.event_type != 'hire'
                and (
                    chained.previous_salary is null
                    or abs(
                        chained.previous_salary
                        - coalesce(chained.prior_new_salary, snapshots.start_annual_salary)
                    ) > {{ money_tolerance() }}
                )
                then 'previous_salary != the salary just before the event'
            when chained.is_last_event
                and abs(chained.new_salary - snapshots.annual_salary) > {{ money_tolerance() }}
                then 'year-end annual_salary != the last event''s new_salary'
        end as failure

    from chained
    inner join snapshots using (run_id, employee_id, simulation_year)

),

quiet_years as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        null as event_sequence,
        'annual_salary changed without an event' as failure

    from snapshots
    anti join events using (run_id, employee_id, simulation_year)
    where abs(snapshots.annual_salary - snapshots.start_annual_salary) > {{ money_tolerance() }}

),

year_breaks as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        null as event_sequence,
        'start_annual_salary != the year before''s annual_salary' as failure

    from snapshots
    inner join snapshots as year_before
        on year_before.run_id = snapshots.run_id
        and year_before.employee_id = snapshots.employee_id
        and year_before.simulation_year = snapshots.simulation_year - 1
    where abs(snapshots.start_annual_salary - year_before.annual_salary)
        > {{ money_tolerance() }}

),

census_breaks as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        null as event_sequence,
        'first year''s start_annual_salary != the census salary' as failure

    from snapshots
    inner join {{ ref('stg_simulation_runs') }} as runs
        on runs.run_id = snapshots.run_id
        and runs.start_year = snapshots.simulation_year
    inner join {{ ref('stg_census') }} as census
        on census.census_id = runs.census_id
        and census.employee_id = snapshots.employee_id
    where not snapshots.is_new_hire
        and abs(snapshots.start_annual_salary - census.annual_salary) > {{ money_tolerance() }}

)

select * from event_breaks where failure is not null
union all
select * from quiet_years
union all
select * from year_breaks
union all
select * from census_breaks
