{#
    §8: prorated pay is at most the highest rate held in the year, and equals it for an
    employee employed all year (continuous_active) with no salary change. Compared to the
    cent.
#}

with

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

rates as (

    select
        run_id,
        employee_id,
        simulation_year,
        max(new_salary) as highest_event_rate,
        count(*) filter (
            where event_type in ('cola', 'promotion', 'merit_increase')
                and new_salary != previous_salary
        ) as salary_changes

    from {{ ref('stg_yearly_events') }}
    group by run_id, employee_id, simulation_year

),

pay as (

    select
        snapshots.run_id,
        snapshots.employee_id,
        snapshots.simulation_year,
        snapshots.detailed_status_code,
        snapshots.prorated_compensation,
        snapshots.annual_salary,
        greatest(
            snapshots.start_annual_salary,
            snapshots.annual_salary,
            coalesce(rates.highest_event_rate, snapshots.start_annual_salary)
        ) as highest_rate,
        coalesce(rates.salary_changes, 0) as salary_changes

    from snapshots
    left join rates using (run_id, employee_id, simulation_year)

),

violations as (

    select
        *,
        case
            when prorated_compensation < 0 then 'negative prorated pay'
            when prorated_compensation > highest_rate + {{ money_tolerance() }}
                then 'prorated pay above the highest rate held'
            when detailed_status_code = 'continuous_active'
                and salary_changes = 0
                and abs(prorated_compensation - annual_salary) > {{ money_tolerance() }}
                then 'employed all year without a change, yet prorated pay != the rate'
        end as failure

    from pay

)

select * from violations
where failure is not null
