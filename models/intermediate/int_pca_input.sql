{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}

{%- set run = netflow_pca.run_vars() %}

with

hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

),

analysis_window as (

    {%- if run.run_date %}
    select date {{ netflow_pca.sql_string_literal(run.run_date) }} as last_day
    {%- else %}
    {#- a clock gone wrong must not move the window into the future and empty it #}
    select
        least(
            max(day),
            cast(now() at time zone {{ netflow_pca.sql_string_literal(run.timezone) }} as date)
        ) as last_day

    from hourly_counts
    {%- endif %}

),

windowed_counts as (

    select hourly_counts.*

    from hourly_counts

    cross join analysis_window

    where {{ netflow_pca.hour_filter('hourly_counts.hour_of_day') }}
        and hourly_counts.day <= analysis_window.last_day
        and hourly_counts.day > analysis_window.last_day - {{ run.lookback_days }}

),

final as (

    select
        hour_of_day,
        cast(dense_rank() over (partition by hour_of_day order by day) as integer) as day_id,
        cast(dense_rank() over (partition by hour_of_day order by user_name collate "C") as integer) as name_id,
        user_name,
        day,
        flow_count

    from windowed_counts

)

select * from final
