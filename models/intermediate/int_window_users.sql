{#- The window's users, one row each: the hours in which they have flows (bits), and their column
    in each of those hours' matrices, name_id, their rank by name (bytewise) among the hour's users:
    a running count, in name order, of the users with that hour. int_pca_input looks each cell's
    name_id up here in a hash join of the 20,000 users, where a dense_rank over the cells sorted
    the 5.8 million of them by (hour, name) in 11 s of CPU, its Gather Merge and window serial in
    one process (10 million events); int_pca_dimensions counts the hours' users from it. The same
    whatever hours a run builds (shared_table). #}
{{ config(materialized='shared_table', distributed_replicated=true) }}
{#- after the counts whatever the hours: Dagster's asset graph is parsed without vars and checks
    that a run yields its models in that order (the events are upstream of everything anyway) -#}
-- depends_on: {{ ref('int_hourly_counts') }}

{%- set run = netflow_pca.run_vars() %}

with

analysis_window as (

    select * from {{ ref('int_analysis_window') }}

),

{#- the window's users, of every hour: an all-hours run has counted them; a one-hour run's counts
    hold only its hour, so it reads the events #}
{%- if run.hour_id is none %}

window_cells as (

    select
        user_name,
        day,
        hour_of_day

    from {{ ref('int_hourly_counts') }}

),
{%- else %}

window_cells as (

    select
        user_name,
        cast(flow_local_at as date) as day,
        cast(date_part('hour', flow_local_at) as integer) as hour_of_day

    from {{ ref('stg_flows__events') }}

),
{%- endif %}

user_hours as (

    select
        window_cells.user_name,
        bit_or(1 << window_cells.hour_of_day) as hours

    from window_cells

    cross join analysis_window

    where window_cells.day between analysis_window.first_day and analysis_window.last_day

    group by window_cells.user_name

),

final as (

    select
        user_name,
        hours,
        {#- name_ids[hour_of_day + 1]: null in an hour without the user's flows #}
        array[
            {%- for hour in range(24) %}
            cast(case when hours & {{ 2 ** hour }} <> 0
                then sum((hours >> {{ hour }}) & 1) over users_by_name end as integer){{ ',' if not loop.last }}
            {%- endfor %}
        ] as name_ids

    from user_hours

    window users_by_name as (order by user_name collate "C" rows unbounded preceding)

)

select * from final
