with

runs as (

    select run_id, settings_json from {{ ref('stg_simulation_runs') }}

),

job_levels as (

    select
        run_id,
        settings_json,
        unnest(
            from_json(
                settings_json -> '$.job_levels',
                '[{"level": "INTEGER", "name": "VARCHAR", "min_salary": "DOUBLE", "max_salary": "DOUBLE"}]'
            ),
            recursive := true
        )

    from runs

),

described as (

    select
        run_id,
        level as job_level,
        name as job_level_name,
        min_salary,
        max_salary,
        (min_salary + max_salary) / 2 as midpoint_salary,
        cast(settings_json -> '$.hire_level_mix' ->> cast(level as varchar) as double)
            as hire_mix_share,
        cast(
            settings_json -> '$.termination_level_multipliers' ->> cast(level as varchar)
            as double
        ) as termination_level_multiplier,
        level = max(level) over (partition by run_id) as is_top_level

    from job_levels

)

select * from described
