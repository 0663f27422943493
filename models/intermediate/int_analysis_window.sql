{#- Decided once per run, from every hour's events, so that a run of one hour and a run of all
    hours agree on it; every invocation builds it whatever its hours (shared_table). #}
{{ config(materialized='shared_table', distributed_replicated=true) }}

{%- set run = netflow_pca.run_vars() %}
{%- set timezone = netflow_pca.sql_string_literal(run.timezone) %}
{%- set time_column = netflow_pca.events_column('time_column') %}
{%- set stored_epoch_seconds = time_column is not none and time_column.dtype | lower in ('smallint', 'integer', 'bigint') %}

with

events as (

    select * from {{ ref('stg_flows__events') }}

),

{%- if stored_epoch_seconds %}
{%- set first_second, last_second = netflow_pca.placeable_epoch_seconds() %}

{#- The events of each day in one cheap pass: counted by the quarter hour (UTC) of their stored
    epoch seconds, an integer division where converting every event's time to its local day cost
    twice as much; each quarter hour is then placed on its local day. A quarter hour that a local
    midnight or a change of the zone's offset cuts (only in a zone a fraction of a quarter hour
    from UTC, as local mean times before about 1970 were) has its events placed one by one, in a
    second pass that runs only when there is such a quarter hour. #}
{#- every event, in the same scan: the ones whose time cannot be placed form the quarter hour null;
    the events without a user are counted for not_null_stg_flows__events_user_name #}
quarter_hours as (

    select
        case
            when flow_source_time between {{ first_second }} and {{ last_second }}
                then (flow_source_time - ({{ first_second }})) / 900
        end as quarter_hour,
        count(*) as events,
        count(*) filter (where user_name is null) as null_user_events

    from events

    group by 1

),

unplaceable as (

    select coalesce(sum(events), 0) as events

    from quarter_hours

    where quarter_hour is null

),

null_users as (

    select coalesce(sum(null_user_events), 0) as events

    from quarter_hours

),

quarter_hour_bounds as (

    select
        quarter_hour,
        events,
        to_timestamp(cast(quarter_hour * 900 + ({{ first_second }}) as double precision)) as starts_at,
        to_timestamp(cast(quarter_hour * 900 + ({{ first_second }}) + 899 as double precision)) as last_second_at

    from quarter_hours

    where quarter_hour is not null

),

placed_quarter_hours as (

    select
        quarter_hour,
        events,
        cast(starts_at at time zone {{ timezone }} as date) as day,
        cast(starts_at at time zone {{ timezone }} as date) = cast(last_second_at at time zone {{ timezone }} as date)
            and (starts_at at time zone {{ timezone }}) - (starts_at at time zone 'UTC')
                = (last_second_at at time zone {{ timezone }}) - (last_second_at at time zone 'UTC') as is_whole_day

    from quarter_hour_bounds

),

cut_quarter_hour_events as (

    select
        cast(flow_local_at as date) as day,
        count(*) as events

    {#- not the CTE events, which a second reference would make PostgreSQL write out whole #}
    from {{ ref('stg_flows__events') }}

    where exists (select from placed_quarter_hours where not is_whole_day)
        and flow_source_time between {{ first_second }} and {{ last_second }}
        and (flow_source_time - ({{ first_second }})) / 900 in (
            select quarter_hour from placed_quarter_hours where not is_whole_day
        )

    group by 1

),

daily_events as (

    select
        day,
        cast(sum(events) as bigint) as events

    from (
        select day, events from placed_quarter_hours where is_whole_day
        union all
        select day, events from cut_quarter_hour_events
    ) as placed

    group by day

),
{%- else %}

{#- every event, in the same scan: the ones whose time cannot be placed form the day null; the
    events without a user are counted for not_null_stg_flows__events_user_name #}
event_days as (

    select
        cast(flow_local_at as date) as day,
        count(*) as events,
        count(*) filter (where user_name is null) as null_user_events

    from events

    group by 1

),

unplaceable as (

    select coalesce(sum(events), 0) as events

    from event_days

    where day is null

),

null_users as (

    select coalesce(sum(null_user_events), 0) as events

    from event_days

),

daily_events as (

    select
        day,
        events

    from event_days

    where day is not null

),
{%- endif %}

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
        today.today - 1 as last_complete_day,
        cast(unplaceable.events as bigint) as unplaceable_events,
        cast(null_users.events as bigint) as null_user_events

    from bounds

    cross join window_summary

    cross join late_events

    cross join today

    cross join unplaceable

    cross join null_users

)

select * from final
