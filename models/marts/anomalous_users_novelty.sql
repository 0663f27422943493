{#- The rows of anomalous_users, each saying whether this build raised it first (it is new) and
    since when anomaly_history has it. It reads the history, which no rebuild replaces, so it is
    not rebuilt either: a build replaces the rows of the hours it builds (replace_hours), as the
    hour-partitioned models do, but even an all-hours build never drops the table. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='replace_hours',
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

history as (

    select * from {{ ref('anomaly_history') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

run_day as (

    -- the day the build reports on, so that a rerun of the same day is the same day
    select last_day as raised_on

    from {{ ref('int_analysis_window') }}

),

final as (

    select
        flagged.hour_of_day,
        flagged.method,
        flagged.anomaly_rank,
        flagged.user_name,
        flagged.score,
        flagged.threshold,
        flagged.evidence_day,
        flagged.evidence_component,
        flagged.flow_count,
        flagged.expected_flow_count,
        flagged.kept_components,
        history.first_raised_on = run_day.raised_on as is_new,
        history.first_raised_on,
        history.days_raised,
        {#- last: where a table built before them has them (on_schema_change append_new_columns) #}
        flagged.first_evidence_day,
        flagged.last_evidence_day

    from flagged

    cross join run_day

    left join history
        {#- the history row this build wrote for the flag: the only one its run overlaps #}
        on {{ netflow_pca.same_flag('flagged', 'history') }}

)

select * from final
