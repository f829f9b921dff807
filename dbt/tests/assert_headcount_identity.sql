{#
    §8: end headcount = start − experienced terminations − reductions + hires − new-hire
    terminations, and equals round(start × (1 + g)) every year. The start of a year is the
    year before's end (the census starting workforce for the first year); the snapshot's
    status codes agree with the event counts.
#}

with

runs as (

    select run_id, start_year, census_id, target_growth_rate
    from {{ ref('stg_simulation_runs') }}

),

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

events as (

    select * from {{ ref('stg_yearly_events') }}

),

starting_workforce as (

    select census_id, count(*) as census_starting_headcount
    from {{ ref('stg_census') }}
    where in_starting_workforce
    group by census_id

),

status_counts as (

    select
        run_id,
        simulation_year,
        count(*) filter (where not is_new_hire) as start_headcount,
        count(*) filter (where is_active) as end_headcount,
        count(*) filter (where detailed_status_code = 'experienced_termination')
            as experienced_leavers,
        count(*) filter (where is_new_hire) as new_hires,
        count(*) filter (where detailed_status_code = 'new_hire_termination')
            as new_hire_leavers

    from snapshots
    group by run_id, simulation_year

),

event_counts as (

    select
        run_id,
        simulation_year,
        count(*) filter (where termination_reason = 'experienced') as experienced_terminations,
        count(*) filter (where termination_reason = 'reduction_in_force') as reductions,
        count(*) filter (where event_type = 'hire') as hires,
        count(*) filter (where termination_reason = 'new_hire') as new_hire_terminations

    from events
    where event_type in ('hire', 'termination')
    group by run_id, simulation_year

),

years as (

    select
        status_counts.*,
        coalesce(event_counts.experienced_terminations, 0) as experienced_terminations,
        coalesce(event_counts.reductions, 0) as reductions,
        coalesce(event_counts.hires, 0) as hires,
        coalesce(event_counts.new_hire_terminations, 0) as new_hire_terminations,
        coalesce(
            lag(status_counts.end_headcount) over (
                partition by status_counts.run_id order by status_counts.simulation_year
            ),
            starting_workforce.census_starting_headcount
        ) as previous_end_headcount,
        {{ round_half_up('status_counts.start_headcount * (1 + runs.target_growth_rate)') }}
            as target_end_headcount

    from status_counts
    inner join runs using (run_id)
    left join event_counts using (run_id, simulation_year)
    left join starting_workforce using (census_id)

),

violations as (

    select
        *,
        case
            when end_headcount != start_headcount - experienced_terminations - reductions
                + hires - new_hire_terminations
                then 'end != start - terminations - reductions + hires - new-hire terminations'
            when end_headcount != target_end_headcount
                then 'end != round(start * (1 + g))'
            when start_headcount != previous_end_headcount
                then 'start != the year before''s end'
            when experienced_leavers != experienced_terminations + reductions
                then 'experienced_termination rows != experienced terminations + reductions'
            when new_hires != hires then 'new-hire rows != hire events'
            when new_hire_leavers != new_hire_terminations
                then 'new_hire_termination rows != new-hire termination events'
        end as failure

    from years

)

select * from violations
where failure is not null
