{#- One row per dbt build that reached this model, appended: a record that a normal run never
    rebuilds, not even with --full-refresh (drop the table by hand to start it afresh). The
    report, the command line and Dagster all read a run's provenance from here. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    full_refresh=false,
    on_schema_change='append_new_columns',
    distributed_replicated=true,
) }}

{%- set run = netflow_pca.run_vars() %}
{%- set given_vars = invocation_args_dict.get('vars') or {} %}
{%- if given_vars is string %}
    {%- set given_vars = fromyaml(given_vars) or {} %}
{%- endif %}
{%- set shown_vars = {} %}
{%- for name, value in given_vars.items() if name != 'hour_id' %}
    {#- YAML reads an unquoted date as a date: keep its ISO text #}
    {%- do shown_vars.update({name: value.isoformat() if value.isoformat is defined else value}) %}
{%- endfor %}

with

pca_input as (

    select * from {{ ref('int_pca_input') }}

),

flagged as (

    select * from {{ ref('anomalous_users') }}

),

analysis_window as (

    select * from {{ ref('int_analysis_window') }}

),

{#- the window's users as the matrices' columns count them (the users of int_pca_input, all hours,
    which pca_input_cells_match_hourly_counts ties to the counts): a group-by of the 5.8 million
    cells by user for them cost 0.95-0.98 s of CPU, the plain count and sum below 0.41-0.42 s
    (alternated twice, load 5), on the way from the scores to the build's end #}
pca_dimensions as (

    select * from {{ ref('int_pca_dimensions') }}

),

window_users as (

    select coalesce(max(col_dim), 0) as users

    from pca_dimensions

),

counted as (

    select
        count(*) as cells,
        coalesce(sum(flow_count), 0) as events

    from pca_input

),

flagged_counts as (

    select
        count(*) filter (where method = 'residual') as residual_flagged,
        count(*) filter (where method = 'loading') as loading_flagged

    from flagged

),

final as (

    select
        cast({{ netflow_pca.sql_string_literal(invocation_id) }} as text) as invocation_id,
        cast({{ netflow_pca.sql_string_literal(run_started_at.isoformat()) }} as timestamptz) as run_started_at,
        cast({{ run.hour_id if run.hour_id is not none else 'null' }} as integer) as hour_id,
        cast({{ netflow_pca.sql_string_literal(run.run_date) if run.run_date else 'null' }} as date) as run_date,
        cast({{ run.lookback_days }} as integer) as lookback_days,
        analysis_window.first_day_with_data as window_first_day,
        analysis_window.last_day_with_data as window_last_day,
        analysis_window.days_with_data as window_days,
        cast({{ netflow_pca.sql_string_literal(run.timezone) }} as text) as timezone,
        cast({{ netflow_pca.sql_string_literal(netflow_pca.events_relation() | string) }} as text) as source_relation,
        cast({{ netflow_pca.sql_string_literal(run.user_column) }} as text) as user_column,
        cast({{ netflow_pca.sql_string_literal(run.time_column) }} as text) as time_column,
        cast({{ netflow_pca.sql_string_literal(run.scoring_methods | join(',')) }} as text) as scoring_methods,
        cast({{ run.residual_threshold if 'residual' in run.scoring_methods else 'null' }} as double precision)
            as residual_threshold,
        cast({{ run.loading_threshold if 'loading' in run.scoring_methods else 'null' }} as double precision)
            as loading_threshold,
        cast({{ netflow_pca.sql_string_literal(run.variance_target | string) }} as text) as variance_target,
        {#- a backend the var names is the one that ran: the PCA and scoring models before this one
            stop the build where it cannot run. Only auto asks the server (its check imported numpy
            in this model's new connection: 0.1 s of the build's last node) #}
        cast({{ netflow_pca.sql_string_literal(
            netflow_pca.pca_backend(run.pca_backend).name if execute and run.pca_backend == 'auto'
            else run.pca_backend) }} as text) as pca_backend,
        cast(counted.events as bigint) as events_counted,
        cast(window_users.users as bigint) as users_counted,
        cast(counted.cells as bigint) as cells_counted,
        cast(flagged_counts.residual_flagged as bigint) as residual_flagged,
        cast(flagged_counts.loading_flagged as bigint) as loading_flagged,
        cast({{ netflow_pca.sql_string_literal(tojson(shown_vars, sort_keys=true)) }} as jsonb) as given_vars,
        analysis_window.late_events,
        analysis_window.first_late_day,
        analysis_window.last_late_day

    from analysis_window

    cross join counted

    cross join window_users

    cross join flagged_counts

)

select * from final
