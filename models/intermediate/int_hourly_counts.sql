{{ config(distributed_by=['user_name'], **netflow_pca.counted_days_config(this)) }}

{%- set run = netflow_pca.run_vars() %}
{%- set recounting = run.recount_days is not none and is_incremental() %}

with

events as (

    select * from {{ ref('stg_flows__events') }}

),

bucketed as (

    select
        user_name,
        cast(flow_local_at as date) as day,
        cast(extract(hour from flow_local_at) as integer) as hour_of_day

    from events

    where {{ netflow_pca.hour_filter('extract(hour from flow_local_at)') }}
    {%- if run.run_date %}
        and flow_local_at < date {{ netflow_pca.sql_string_literal(run.run_date) }} + 1
        and flow_local_at >= date {{ netflow_pca.sql_string_literal(run.run_date) }} - {{ run.lookback_days - 1 }}
    {%- endif %}
    {%- if recounting %}
        and not (cast(flow_local_at as date) <@ {{ netflow_pca.kept_days_range(this) }})
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
