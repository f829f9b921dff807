{#
    Every tuning-loop iteration's levers, metrics and residuals, unnested from the JSON text
    of optimization_iterations (planwise.optimization.store):
      levers     {"values": {"merit_base[L1]": 0.03, ...}, "point": [...]}
      metrics    {"median_merit_increase@final": 0.034, ...}
      residuals  the same keys as metrics: (value − target) / tolerance
    One row per lever value and per target metric; a metric row carries its residual.
#}

with

iterations as (

    select * from {{ ref('stg_optimization_iterations') }}

),

optimizations as (

    select optimization_id, scenario_id, optimization_mode
    from {{ ref('stg_optimization_runs') }}

),

lever_values as (

    select
        iterations.optimization_id,
        iterations.iteration,
        lever.key as measure_key,
        try_cast(lever.value as double) as measure_value

    from iterations,
        json_each(coalesce(iterations.levers_json -> '$.values', iterations.levers_json)) as lever
    where iterations.levers_json is not null

),

metric_values as (

    select
        iterations.optimization_id,
        iterations.iteration,
        metric.key as measure_key,
        try_cast(metric.value as double) as measure_value

    from iterations, json_each(iterations.metrics_json) as metric
    where iterations.metrics_json is not null

),

residual_values as (

    select
        iterations.optimization_id,
        iterations.iteration,
        residual.key as measure_key,
        try_cast(residual.value as double) as residual

    from iterations, json_each(iterations.residuals_json) as residual
    where iterations.residuals_json is not null

),

targets as (

    select
        optimization_id,
        iteration,
        measure_key,
        metric_values.measure_value,
        residual_values.residual

    from metric_values
    full outer join residual_values
        using (optimization_id, iteration, measure_key)

),

measures as (

    select
        optimization_id,
        iteration,
        'lever' as measure_kind,
        measure_key,
        regexp_extract(measure_key, '^([^\[@]+)', 1) as measure_name,
        try_cast(regexp_extract(measure_key, '\[L(\d+)\]', 1) as integer) as job_level,
        null as target_year,
        measure_value,
        cast(null as double) as residual

    from lever_values

    union all

    select
        optimization_id,
        iteration,
        'metric' as measure_kind,
        measure_key,
        regexp_extract(measure_key, '^([^\[@]+)', 1) as measure_name,
        cast(null as integer) as job_level,
        nullif(regexp_extract(measure_key, '@(.+)$', 1), '') as target_year,
        measure_value,
        residual

    from targets

),

final as (

    select
        measures.optimization_id,
        optimizations.scenario_id,
        optimizations.optimization_mode,
        measures.iteration,
        iterations.iteration_kind,
        iterations.parameter_set_id,
        iterations.run_id,
        iterations.is_within_tolerance,
        measures.measure_kind,
        measures.measure_key,
        measures.measure_name,
        measures.job_level,
        measures.target_year,
        measures.measure_value,
        measures.residual,
        abs(measures.residual) <= 1 as is_residual_within_tolerance

    from measures
    inner join iterations using (optimization_id, iteration)
    left join optimizations using (optimization_id)

)

select * from final
