-- §8: a promotion raises the job level by exactly one.

with

promotions as (

    select *
    from {{ ref('stg_yearly_events') }}
    where event_type = 'promotion'

)

select *
from promotions
where previous_job_level is null
    or new_job_level != previous_job_level + 1
