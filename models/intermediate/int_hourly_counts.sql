{#- Counted in two halves of the users (by a hash of the name), a group-by each, one after the
    other in a UNION ALL: the halves are disjoint in the group key, so their rows are the table's
    rows, and PostgreSQL runs them side by side, a Parallel Append of the two aggregates under a
    Gather (one half in the leader, the other in a worker), on its own: no setting needed. One
    group-by over all events stays on one core (its groups barely reduce the rows, so a partial
    aggregate per worker gains nothing). Measured at 10.4 million events, CREATE TABLE AS
    alternated at load 3.4-6.8 (CPU of the statement's processes, /proc): one group-by 8.1-8.7 s on
    one core; the halves 5.3-5.6 s in the leader and 4.4-4.9 s in the worker at once (10 s in all:
    each half scans the events, and the worker's rows pass through the Gather). The split is
    invisible to the planner's estimates as an equality (0.5% of the rows: it sorted), so it is
    an inequality on the hash's sign; more parts lose the same way, and a third process would
    share the 2 cores anyway. Greenplum spreads one group-by over its segments: one part there.
    No work_mem of its own: the hash of the 5.8 million (user, day, hour) cells at 10 million
    events spills at the default 4 MB (177 batches, 358 MB on disk; EXPLAIN ANALYZE BUFFERS) and
    needs 655 MB to stay in one batch (320 MB x hash_mem_multiplier 2), yet the model took as much
    CPU that way (CREATE TABLE AS alternated at load 1.3-2.7: 9.3-11.0 s at 320 MB against
    9.5-10.8 s at 4 MB): the partitions of a spilled hash stay in the CPU's cache, one big hash
    does not. Not worth 650 MB of the server's memory. -#}
{{ config(distributed_by=['user_name'], **netflow_pca.counted_days_config(this)) }}

{%- set run = netflow_pca.run_vars() %}
{%- set recounting = run.recount_days is not none and is_incremental() %}
{%- set halves = netflow_pca.hash_halves() %}

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
bucketed as not materialized (

    select
        events.user_name,
        cast(events.flow_local_at as date) as day,
        {#- date_part, a float, not extract, which returns numeric since PostgreSQL 14: a numeric
            for each of 10 million events cost 0.7 to 1 s more CPU (alternated, load 1.3-2.7);
            the hour is whole either way #}
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
    {%- for half in halves %}

    select
        user_name,
        day,
        hour_of_day,
        count(*) as flow_count

    from bucketed
    {%- if half %}

    where hashtext(user_name) {{ half }}
    {%- endif %}

    group by
        user_name,
        day,
        hour_of_day
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select * from final
