{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}

with

hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

),

window_days as (

    select * from {{ ref('int_window_days') }}

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

final as (

    select
        hour_of_day,
        day_id,
        cast(dense_rank() over (partition by hour_of_day order by user_name collate "C") as integer) as name_id,
        user_name,
        day,
        flow_count

    from windowed_counts

)

select * from final
