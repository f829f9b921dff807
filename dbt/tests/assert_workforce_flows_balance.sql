{#
    Headcount flows balance on every row of fct_workforce_summary, and the year-end
    headcount summed over levels is fct_compensation_growth's headcount.
#}

with

summary as (

    select * from {{ ref('fct_workforce_summary') }}

),

row_breaks as (

    select
        run_id,
        simulation_year,
        job_level,
        detailed_status_code,
        'starting + hires + promotions in - out - terminations != ending' as failure

    from summary
    where starting_headcount + hires + promotions_in - promotions_out - terminations
        != ending_headcount

),

year_totals as (

    select run_id, simulation_year, sum(ending_headcount) as ending_headcount
    from summary
    group by run_id, simulation_year

),

total_breaks as (

    select
        year_totals.run_id,
        year_totals.simulation_year,
        null as job_level,
        null as detailed_status_code,
        'Σ ending_headcount != fct_compensation_growth.headcount' as failure

    from year_totals
    full outer join {{ ref('fct_compensation_growth') }} as growth
        using (run_id, simulation_year)
    where year_totals.ending_headcount is distinct from growth.headcount

)

select * from row_breaks
union all
select * from total_breaks
