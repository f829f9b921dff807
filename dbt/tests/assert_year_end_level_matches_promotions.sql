{#
    §8: year-end job level = Jan 1 level + the year's promotions; a year's Jan 1 level is
    the year before's year-end level (levels are never re-derived from pay).
#}

with

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

promotions as (

    select run_id, employee_id, simulation_year, count(*) as promotions
    from {{ ref('stg_yearly_events') }}
    where event_type = 'promotion'
    group by run_id, employee_id, simulation_year

),

level_breaks as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        'job_level != start_job_level + promotions' as failure

    from snapshots
    left join promotions using (run_id, employee_id, simulation_year)
    where snapshots.job_level != snapshots.start_job_level + coalesce(promotions.promotions, 0)

),

year_breaks as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        'start_job_level != the year before''s job_level' as failure

    from snapshots
    inner join snapshots as year_before
        on year_before.run_id = snapshots.run_id
        and year_before.employee_id = snapshots.employee_id
        and year_before.simulation_year = snapshots.simulation_year - 1
    where snapshots.start_job_level != year_before.job_level

)

select * from level_breaks
union all
select * from year_breaks
