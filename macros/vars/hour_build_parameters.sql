{#-
    A select of one jsonb, built_for: what this run builds a relation's rows for, by the names
    given (those hours_read_across lists), with the window as int_analysis_window resolved it
    (without run_date its last day depends on the data). Not the events themselves: an hour
    counted before events of its own came is read as counted (README, "Runs of some hours"). -#}
{% macro hour_build_parameters(names) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set literal = netflow_pca.sql_string_literal -%}
    {%- set values = {
        'source_relation': literal(netflow_pca.events_relation() | string),
        'user_column': literal(run.user_column),
        'time_column': literal(run.time_column),
        'timezone': literal(run.timezone),
        'run_date': 'cast(' ~ (literal(run.run_date) if run.run_date else 'null') ~ ' as text)',
        'lookback_days': run.lookback_days,
        'window_first_day': 'analysis_window.first_day',
        'window_last_day': 'analysis_window.last_day',
        'window_days': 'analysis_window.days_with_data',
        'residual_max_components': run.residual_max_components,
        'residual_min_active_days': run.residual_min_active_days,
        'residual_damp_at': run.residual_damp_at,
        'residual_collective_share': run.residual_collective_share,
        'residual_collective_min_users': run.residual_collective_min_users,
        'residual_max_extreme_days': run.residual_max_extreme_days,
        'residual_max_run_days': run.residual_max_run_days,
    } -%}
    {%- if 'scoring_route' in names -%}
        {%- do values.update({
            'scoring_route': literal(netflow_pca.residual_scoring_route()),
            'pca_backend': literal(netflow_pca.pca_backend(run.pca_backend).name),
        }) -%}
    {%- endif %}
    select jsonb_build_object(
        {%- for name in names %}
        {{ literal(name) }}, {{ values[name] }}{{ ',' if not loop.last }}
        {%- endfor %}
    ) as built_for
    from {{ netflow_pca.model_relation('int_analysis_window') }} as analysis_window
{%- endmacro %}
