{#
    Each employee-year's pay split by where it comes from. Pay earned in the year is
    Σ over salary segments of rate × days / days in year (simulation-model.md §6); writing
    each segment's rate as the Jan 1 (or hire) rate plus the raises that took effect before
    it splits the pay exactly into:
      base_cost      Jan 1 rate × days employed, for employees hired before the year;
      new_hire_cost  hire rate × days employed, for this year's hires;
      <type>_cost    Σ raise (new − previous salary) × days employed from its effective
                     date, for cola, promotion and merit_increase events.
#}

with

snapshots as (

    select * from {{ ref('stg_workforce_snapshot') }}

),

raises as (

    select run_id, simulation_year, employee_id, event_type, effective_date, salary_increase
    from {{ ref('stg_yearly_events') }}
    where event_type in ('cola', 'promotion', 'merit_increase')

),

employment as (

    select
        run_id,
        simulation_year,
        employee_id,
        job_level,
        detailed_status_code,
        is_new_hire,
        start_annual_salary,
        prorated_compensation,
        greatest(hire_date, make_date(simulation_year, 1, 1)) as employed_from,
        least(
            coalesce(termination_date, make_date(simulation_year, 12, 31)),
            make_date(simulation_year, 12, 31)
        ) as employed_through,
        {{ days_in_year('simulation_year') }} as days_in_year

    from snapshots

),

raise_costs as (

    select
        raises.run_id,
        raises.simulation_year,
        raises.employee_id,
        sum(raises.salary_increase) filter (where raises.event_type = 'cola') as cola_spend,
        sum(raises.salary_increase) filter (where raises.event_type = 'promotion')
            as promotion_spend,
        sum(raises.salary_increase) filter (where raises.event_type = 'merit_increase')
            as merit_spend,
        sum(
            raises.salary_increase
            * (datediff('day', raises.effective_date, employment.employed_through) + 1)
        ) filter (where raises.event_type = 'cola') as cola_pay_days,
        sum(
            raises.salary_increase
            * (datediff('day', raises.effective_date, employment.employed_through) + 1)
        ) filter (where raises.event_type = 'promotion') as promotion_pay_days,
        sum(
            raises.salary_increase
            * (datediff('day', raises.effective_date, employment.employed_through) + 1)
        ) filter (where raises.event_type = 'merit_increase') as merit_pay_days

    from raises
    inner join employment
        using (run_id, simulation_year, employee_id)

    group by raises.run_id, raises.simulation_year, raises.employee_id

),

pay as (

    select
        employment.run_id,
        employment.simulation_year,
        employment.employee_id,
        employment.job_level,
        employment.detailed_status_code,
        employment.is_new_hire,
        datediff('day', employment.employed_from, employment.employed_through) + 1
            as days_employed,
        case
            when not employment.is_new_hire
                then employment.start_annual_salary
                * (datediff('day', employment.employed_from, employment.employed_through) + 1)
                / employment.days_in_year
            else 0
        end as base_cost,
        coalesce(raise_costs.cola_pay_days, 0) / employment.days_in_year as cola_cost,
        coalesce(raise_costs.promotion_pay_days, 0) / employment.days_in_year as promotion_cost,
        coalesce(raise_costs.merit_pay_days, 0) / employment.days_in_year as merit_cost,
        case
            when employment.is_new_hire
                then employment.start_annual_salary
                * (datediff('day', employment.employed_from, employment.employed_through) + 1)
                / employment.days_in_year
            else 0
        end as new_hire_cost,
        coalesce(raise_costs.cola_spend, 0) as cola_spend,
        coalesce(raise_costs.promotion_spend, 0) as promotion_spend,
        coalesce(raise_costs.merit_spend, 0) as merit_spend,
        employment.prorated_compensation

    from employment
    left join raise_costs
        using (run_id, simulation_year, employee_id)

)

select * from pay
