{#- Decided once per run, from every hour's events, so that a run of one hour and a run of all
    hours agree on it; every invocation builds it whatever its hours (shared_table). #}
{{ config(materialized='shared_table', distributed_replicated=true) }}

{%- set run = netflow_pca.run_vars() %}
{%- set timezone = netflow_pca.sql_string_literal(run.timezone) %}

with

events as (

    select * from {{ ref('stg_flows__events') }}

),

daily_events as (

    select
        cast(flow_local_at as date) as day,
        count(*) as events

    from events

    where flow_local_at is not null

    group by 1

),

today as (

    select cast(now() at time zone {{ timezone }} as date) as today

),

{#- Without run_date the window ends at the last complete day of the data: today is not complete,
    and a day after it, or a stray day holding under 1% of a median day's events, is late or bad
    data (a clock gone wrong, a time in milliseconds), which must not move the window. #}
complete_days as (

    select daily_events.*

    from daily_events

    cross join today

    where daily_events.day < today.today

),

median_day as (

    select percentile_cont(0.5) within group (order by events) as events

    from complete_days

),

last_day as (

    {%- if run.run_date %}
    select date {{ netflow_pca.sql_string_literal(run.run_date) }} as last_day
    {%- else %}
    select max(complete_days.day) as last_day

    from complete_days

    cross join median_day

    where complete_days.events * 100 >= median_day.events
    {%- endif %}

),

bounds as (

    select
        last_day - {{ run.lookback_days - 1 }} as first_day,
        last_day

    from last_day

),

window_days as (

    select daily_events.*

    from daily_events

    cross join bounds

    where daily_events.day between bounds.first_day and bounds.last_day

),

window_summary as (

    select
        min(day) as first_day_with_data,
        max(day) as last_day_with_data,
        count(*) as days_with_data,
        coalesce(sum(events), 0) as events,
        array_agg(day order by day) as days

    from window_days

),

{#- with run_date, the days after it are simply outside the window; without, they are late or bad #}
late_events as (

    select
        min(daily_events.day) as first_late_day,
        max(daily_events.day) as last_late_day,
        coalesce(sum(daily_events.events), 0) as late_events

    from daily_events

    cross join bounds

    where {{ 'false' if run.run_date else 'daily_events.day > bounds.last_day' }}

),

final as (

    select
        bounds.first_day,
        bounds.last_day,
        window_summary.first_day_with_data,
        window_summary.last_day_with_data,
        cast(window_summary.days_with_data as integer) as days_with_data,
        cast(window_summary.events as bigint) as events,
        window_summary.days,
        cast(late_events.late_events as bigint) as late_events,
        late_events.first_late_day,
        late_events.last_late_day,
        today.today - 1 as last_complete_day

    from bounds

    cross join window_summary

    cross join late_events

    cross join today

)

select * from final
