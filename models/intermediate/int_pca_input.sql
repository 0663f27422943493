{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}

with

hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

),

window_days as (

    select * from {{ ref('int_window_days') }}

),

window_users as (

    select * from {{ ref('int_window_users') }}

),

{#- the window's days on which the hour exists; a day without the hour's flows is a row of zeros #}
windowed_counts as (

    select
        hourly_counts.*,
        window_days.day_id

    from hourly_counts

    inner join window_days
        on hourly_counts.hour_of_day = window_days.hour_of_day
        and hourly_counts.day = window_days.day

    where {{ netflow_pca.hour_filter('hourly_counts.hour_of_day') }}

),

{#- each cell's name_id looked up in a hash of the window's users, no sort of the cells: 4.5-5.6 s
    of CPU in one process against 11.2-11.4 s in three for a dense_rank over them (10 million
    events, docs/scoring.md). A left join, so that a user the lookup lacks shows as a null
    name_id, which the tests catch. #}
final as (

    select
        windowed_counts.hour_of_day,
        windowed_counts.day_id,
        window_users.name_ids[windowed_counts.hour_of_day + 1] as name_id,
        windowed_counts.user_name,
        windowed_counts.day,
        windowed_counts.flow_count

    from windowed_counts

    left join window_users
        on windowed_counts.user_name = window_users.user_name

)

select * from final
