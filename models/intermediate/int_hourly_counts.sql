{#- The hash of every (user, day, hour) cell, 5.8 million at 10 million events, runs almost alone on
    the build's critical path (only the window's small tests beside it; the scoring and the sparse
    input start after it). EXPLAIN (ANALYZE, BUFFERS) of this query on the bench's events: at the
    default 4 MB work_mem, 177 batches and 358 MB written to disk and read back; at 256 MB, 5
    batches (524 MB held, 102 MB on disk); at 320 MB, 655 MB held and 240 kB on disk (PostgreSQL
    13+ hashes up to hash_mem_multiplier x work_mem, 2 by default). The backend hands the memory
    back when the statement ends (its RssAnon falls back to a few MB), before the scoring's
    function holds its own. For this model's transaction only. -#}
{%- set counted = netflow_pca.counted_days_config(this) %}
{{ config(**dict(
    counted,
    distributed_by=['user_name'],
    pre_hook=counted.get('pre_hook', []) + ["set local work_mem = '320MB'"],
)) }}

{%- set run = netflow_pca.run_vars() %}
{%- set recounting = run.recount_days is not none and is_incremental() %}

with

events as (

    select * from {{ ref('stg_flows__events') }}

),

analysis_window as (

    select * from {{ ref('int_analysis_window') }}

),

{#- the days this run counts: the window's, up to its last day, which leaves out late or bad events
    (after the last complete day), and with run_date from its first day; with recount_days, but for
    the days kept, which leaves a run of days before them (a longer lookback_days) and one after #}
counted_days as (

    select
        {{ 'analysis_window.first_day' if run.run_date else 'cast(null as date)' }} as first_day,
        {%- if recounting %}
        coalesce(lower(kept.days), analysis_window.last_day + 1) as kept_from,
        coalesce(upper(kept.days), analysis_window.last_day + 1) as kept_until,
        {%- endif %}
        analysis_window.last_day + 1 as until_day

    from analysis_window
    {%- if recounting %}

    {#- offset 0: the range is read once, not once for each of its bounds #}
    cross join (select {{ netflow_pca.kept_days_range(this) }} as days offset 0) as kept
    {%- endif %}

),

{#- with recount_days, the stored times first (no conversion, and an index on them serves it),
    then the local day; a full count reads every event anyway, and a range on the stored times,
    its selectivity unknown to the planner, made it sort the events instead of hashing them #}
bucketed as (

    select
        events.user_name,
        cast(events.flow_local_at as date) as day,
        {#- date_part, a float, not extract, which returns numeric since PostgreSQL 14: a numeric
            for each of 10 million events cost about 1 s more CPU; the hour is whole either way #}
        cast(date_part('hour', events.flow_local_at) as integer) as hour_of_day

    from events

    cross join counted_days

    where {{ netflow_pca.hour_filter("date_part('hour', events.flow_local_at)") }}
    {%- if recounting %}
        and ({{ netflow_pca.source_time_in_days('events.flow_source_time',
                '(select first_day from counted_days)' if run.run_date else none, '(select kept_from from counted_days)') }}
            or {{ netflow_pca.source_time_in_days('events.flow_source_time',
                '(select kept_until from counted_days)', '(select until_day from counted_days)') }})
    {%- endif %}
        and events.flow_local_at < counted_days.until_day
    {%- if run.run_date %}
        and events.flow_local_at >= counted_days.first_day
    {%- endif %}
    {%- if recounting %}
        and not (cast(events.flow_local_at as date) >= counted_days.kept_from
            and cast(events.flow_local_at as date) < counted_days.kept_until)
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
