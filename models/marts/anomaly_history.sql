{#- Every flag ever raised: one row per (hour, method, user, run of flagged days), kept when its
    day leaves the window, and never rebuilt by a normal run, not even with --full-refresh (drop the
    table by hand to start it afresh). A build upserts the flags it raises (replace_flags): a new
    one gets a row, a known one (a recorded run its run overlaps: same_flag) keeps its first
    raising, takes the new run's days and counts the new day. The run's day is
    run_date, else the last day of the window's data, so a rerun of the same day changes nothing.
    Runs of different hours touch different rows; runs of the same hour take turns. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_flags',
    full_refresh=false,
    on_schema_change='append_new_columns',
    distributed_by=['user_name'],
    pre_hook=["{{ netflow_pca.lock_selected_hours(this) }}"],
) }}

with

flagged as (

    select * from {{ ref('anomalous_users') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

run_day as (

    -- the day the build reports on, so that a rerun of the same day is the same day
    select last_day as raised_on

    from {{ ref('int_analysis_window') }}

),

{% if is_incremental() %}
{%- set recorded_columns = adapter.get_columns_in_relation(this) | map(attribute='name') | map('lower') | list %}
recorded as (

    select * from {{ this }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),
{% else %}
recorded as (

    select
        cast(null as integer) as hour_of_day,
        cast(null as text) as method,
        cast(null as text) as user_name,
        cast(null as date) as evidence_day,
        cast(null as date) as first_raised_on,
        cast(null as text) as first_invocation_id,
        cast(null as date) as last_raised_on,
        cast(null as text) as last_invocation_id,
        cast(null as integer) as days_raised,
        cast(null as date) as first_evidence_day,
        cast(null as date) as last_evidence_day

    where false

),
{% endif %}

recorded_of_flag as (

    {#- the recorded rows of each raised flag: those whose runs its run overlaps. One when a
        lasting burst's run grows at either end, several when it joins runs recorded apart:
        they become one row, the earliest first raising kept, their days_raised added up #}
    select
        flagged.hour_of_day,
        flagged.method,
        flagged.user_name,
        min(recorded.first_raised_on) as first_raised_on,
        (array_agg(recorded.first_invocation_id order by recorded.first_raised_on, recorded.first_invocation_id))[1]
            as first_invocation_id,
        max(recorded.last_raised_on) as last_raised_on,
        (array_agg(recorded.last_invocation_id order by recorded.last_raised_on desc, recorded.last_invocation_id))[1]
            as last_invocation_id,
        sum(recorded.days_raised) as days_raised

    from flagged

    inner join recorded
        on {{ netflow_pca.same_flag(
            'flagged', 'recorded', 'first_evidence_day' in (recorded_columns if is_incremental() else ['first_evidence_day'])
        ) }}

    group by flagged.hour_of_day, flagged.method, flagged.user_name

),

raised as (

    select
        flagged.*,
        run_day.raised_on,
        recorded_of_flag.first_raised_on as recorded_first_raised_on,
        recorded_of_flag.first_invocation_id as recorded_first_invocation_id,
        recorded_of_flag.last_raised_on as recorded_last_raised_on,
        recorded_of_flag.last_invocation_id as recorded_last_invocation_id,
        recorded_of_flag.days_raised as recorded_days_raised,
        recorded_of_flag.hour_of_day is null as is_first_raising,
        recorded_of_flag.hour_of_day is not null and run_day.raised_on > recorded_of_flag.last_raised_on as is_later_day,
        recorded_of_flag.hour_of_day is not null and run_day.raised_on < recorded_of_flag.first_raised_on as is_earlier_day

    from flagged

    cross join run_day

    {#- anomalous_users has one flag per (hour, method, user) #}
    left join recorded_of_flag
        on flagged.hour_of_day = recorded_of_flag.hour_of_day
        and flagged.method = recorded_of_flag.method
        and flagged.user_name = recorded_of_flag.user_name

),

final as (

    select
        hour_of_day,
        method,
        user_name,
        evidence_day,
        case
            when is_first_raising or is_earlier_day then raised_on
            else recorded_first_raised_on
        end as first_raised_on,
        case
            when is_first_raising or is_earlier_day
                then cast({{ netflow_pca.sql_string_literal(invocation_id) }} as text)
            else recorded_first_invocation_id
        end as first_invocation_id,
        case
            when is_first_raising or is_later_day then raised_on
            else recorded_last_raised_on
        end as last_raised_on,
        case
            when is_first_raising or is_later_day
                then cast({{ netflow_pca.sql_string_literal(invocation_id) }} as text)
            else recorded_last_invocation_id
        end as last_invocation_id,
        cast(case
            when is_first_raising then 1
            when is_later_day or is_earlier_day then recorded_days_raised + 1
            else recorded_days_raised
        end as integer) as days_raised,
        {#- what the latest day that raised it saw #}
        score,
        threshold,
        flow_count,
        expected_flow_count,
        {#- last: where a table built before them has them (on_schema_change append_new_columns) #}
        first_evidence_day,
        last_evidence_day

    from raised

)

select * from final
