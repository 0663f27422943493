{#- The rows of every hour's matrix, the same whatever hours a run builds (shared_table). #}
{{ config(materialized='shared_table', distributed_replicated=true) }}

{%- set run = netflow_pca.run_vars() %}
{%- set timezone = netflow_pca.sql_string_literal(run.timezone) %}

with

analysis_window as (

    select * from {{ ref('int_analysis_window') }}

),

window_days as (

    select window_day.day

    from analysis_window

    cross join unnest(analysis_window.days) as window_day (day)

),

hours as (

    select hour_of_day

    from generate_series(0, 23) as hours (hour_of_day)

),

{#- A local hour that a daylight-saving change skips (02:00 on the spring day in New York) does
    not exist on that day: the day is not a row of that hour's matrix, rather than a row of zeros.
    Such a time read in the zone and back lands in another hour. #}
existing_hours as (

    select
        hours.hour_of_day,
        window_days.day

    from window_days

    cross join hours

    where cast(extract(hour from
            ((window_days.day + make_interval(hours => hours.hour_of_day)) at time zone {{ timezone }})
            at time zone {{ timezone }}
        ) as integer) = hours.hour_of_day

),

final as (

    select
        hour_of_day,
        day,
        cast(row_number() over (partition by hour_of_day order by day) as integer) as day_id

    from existing_hours

)

select * from final
