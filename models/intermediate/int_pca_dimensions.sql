{#- Each hour's matrix size, from the window alone, so that a run of one hour fits it exactly as a
    run of all hours does; the same whatever hours a run builds (shared_table). #}
{{ config(materialized='shared_table', distributed_replicated=true) }}
{#- after the counts whatever the hours: Dagster's asset graph is parsed without vars and checks
    that a run yields its models in that order (the events are upstream of everything anyway) -#}
-- depends_on: {{ ref('int_hourly_counts') }}

{%- set run = netflow_pca.run_vars() %}

with

analysis_window as (

    select * from {{ ref('int_analysis_window') }}

),

window_days as (

    select * from {{ ref('int_window_days') }}

),

{#- the window's users, of every hour: an all-hours run has counted them; a one-hour run's counts
    hold only its hour, so it reads the events #}
{%- if run.hour_id is none %}

window_cells as (

    select
        user_name,
        day

    from {{ ref('int_hourly_counts') }}

),
{%- else %}

window_cells as (

    select
        user_name,
        cast(flow_local_at as date) as day

    from {{ ref('stg_flows__events') }}

),
{%- endif %}

window_users as (

    select window_cells.user_name

    from window_cells

    cross join analysis_window

    where window_cells.day between analysis_window.first_day and analysis_window.last_day

    group by window_cells.user_name

),

user_count as (

    select count(*) as users from window_users

),

hour_days as (

    select
        hour_of_day,
        max(day_id) as days

    from window_days

    group by hour_of_day

),

final as (

    select
        hour_days.hour_of_day,
        cast(hour_days.days as integer) as row_dim,
        cast(user_count.users as integer) as col_dim

    from hour_days

    cross join user_count

)

select * from final
