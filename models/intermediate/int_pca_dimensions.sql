{#- Each hour's matrix size, from the window alone, so that a run of one hour fits it exactly as a
    run of all hours does; the same whatever hours a run builds (shared_table). With each hour's
    users, counted and summed as hashes of their names from the same aggregate of the window's
    users (their hours as bits), for the tests: pca_input_name_ids_rank_users ties int_pca_input's
    users of each hour to them in the aggregate per name_id it builds anyway, and
    outlier_scores_cover_every_user_of_every_hour the scores' users, in a hash of the 400,000
    scores instead of the 5.8 million cells (10 million events). #}
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

window_users as (

    select
        window_cells.user_name,
        bit_or(1 << window_cells.hour_of_day) as hours

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

hour_users as (

    select
        hour_days.hour_of_day,
        hour_days.days,
        count(window_users.user_name) as users,
        coalesce(sum(hashtextextended(window_users.user_name, 0)), 0) as users_checksum

    from hour_days

    left join window_users
        on window_users.hours & (1 << hour_days.hour_of_day) <> 0

    group by
        hour_days.hour_of_day,
        hour_days.days

),

final as (

    select
        hour_users.hour_of_day,
        cast(hour_users.days as integer) as row_dim,
        cast(user_count.users as integer) as col_dim,
        cast(hour_users.users as integer) as hour_users,
        hour_users.users_checksum as hour_users_checksum

    from hour_users

    cross join user_count

)

select * from final
