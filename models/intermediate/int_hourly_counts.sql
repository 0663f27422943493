{{ config(distributed_by=['user_name'], **netflow_pca.counted_days_config(this)) }}

{%- set run = netflow_pca.run_vars() %}
{%- set recounting = run.recount_days is not none and is_incremental() %}

with

events as (

    select * from {{ ref('stg_flows__events') }}

),

analysis_window as (

    select * from {{ ref('int_analysis_window') }}

),

{#- the window's days: up to its last day, which leaves out late or bad events (after the last
    complete day); with run_date, from its first day too #}
bucketed as (

    select
        events.user_name,
        cast(events.flow_local_at as date) as day,
        cast(extract(hour from events.flow_local_at) as integer) as hour_of_day

    from events

    cross join analysis_window

    where {{ netflow_pca.hour_filter('extract(hour from events.flow_local_at)') }}
        and events.flow_local_at < analysis_window.last_day + 1
    {%- if run.run_date %}
        and events.flow_local_at >= analysis_window.first_day
    {%- endif %}
    {%- if recounting %}
        and not (cast(events.flow_local_at as date) <@ {{ netflow_pca.kept_days_range(this) }})
    {%- endif %}

),

final as (

    select
        user_name,
        day,
        hour_of_day,
        count(*) as flow_count

    from bucketed

    group by
        user_name,
        day,
        hour_of_day

)

select * from final
