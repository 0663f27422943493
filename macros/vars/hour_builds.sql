{#-
    The record of what each hour of the relations read across hours holds (hour_builds): a run
    of some hours scores them against its users' other hours as stored, which equals a run of
    all hours only where those hours were built for the same window and parameters.
    The relations, by the residual scoring route (residual_scoring_route): the numpy route reads
    every hour's counts; the set-based route every hour's expected counts and user components.
-#}
{% macro hour_builds_relation() %}
    {%- do return(api.Relation.create(database=target.database, schema=target.schema, identifier='hour_builds')) -%}
{% endmacro %}


{#- The relations whose other hours a run of the given route reads (in int_residual_scores), each
    with the names of what its rows depend on (_built_for_sql), in the order a refusal names them. -#}
{% macro _hours_read_across(route) %}
    {%- set counting = ['source_relation', 'user_column', 'time_column', 'timezone', 'run_date', 'lookback_days',
        'window_first_day', 'window_last_day', 'window_days'] -%}
    {%- set fitting = counting + ['scoring_route', 'pca_backend', 'residual_max_components', 'residual_min_active_days',
        'residual_damp_at', 'residual_collective_share', 'residual_collective_min_users',
        'residual_max_extreme_days', 'residual_max_run_days'] -%}
    {%- if route == 'numpy' -%}
        {%- do return({'int_hourly_counts': counting}) -%}
    {%- elif route == 'sql' -%}
        {%- do return({'int_residual_user_components': fitting, 'int_residual_expected_counts': fitting}) -%}
    {%- endif -%}
    {%- do return({}) -%}
{% endmacro %}


{#- Every relation a route reads across hours, with what its rows depend on. -#}
{% macro _recorded_relations() %}
    {%- set relations = {} -%}
    {%- do relations.update(netflow_pca._hours_read_across('numpy')) -%}
    {%- do relations.update(netflow_pca._hours_read_across('sql')) -%}
    {%- do return(relations) -%}
{% endmacro %}


{#- A select of one jsonb, built_for: what this run builds a relation's rows for, by the names
    given (those _hours_read_across lists), with the window as int_analysis_window resolved it
    (without run_date its last day depends on the data). Not the events themselves: an hour
    counted before events of its own came is read as counted (README, "Runs of some hours"). -#}
{% macro _built_for_sql(names) %}
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
    from {{ netflow_pca._model_relation('int_analysis_window') }} as analysis_window
{%- endmacro %}


{#- A model's relation, looked up in the graph: ref() in a hook of a model that does not ref
    that model directly is refused at run time. -#}
{% macro _model_relation(name) %}
    {%- set node = graph.nodes['model.netflow_pca.' ~ name] -%}
    {%- do return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
{% endmacro %}


{#- Whether hour_builds exists now, read from the catalog (dbt's cache is as old as the
    invocation; another run, or a post-hook of this one, may have created it since). -#}
{% macro _hour_builds_exist() %}
    {%- set records = netflow_pca.hour_builds_relation() -%}
    {%- do return(run_query(
        "select to_regclass(" ~ netflow_pca.sql_string_literal(records.include(database=false) | string) ~ ") is not null"
    ).columns[0].values()[0]) -%}
{% endmacro %}


{#- Hours as ranges for people to read: [0, 1, 2, 4] is "0-2, 4". -#}
{% macro _hour_ranges(hours) %}
    {%- set ranges = [] -%}
    {%- for hour in hours | sort -%}
        {%- if ranges and ranges[-1][1] == hour - 1 -%}
            {%- do ranges.append([ranges.pop()[0], hour]) -%}
        {%- else -%}
            {%- do ranges.append([hour, hour]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set shown = [] -%}
    {%- for first, last in ranges -%}
        {%- do shown.append(first ~ ('-' ~ last if last != first else '')) -%}
    {%- endfor -%}
    {%- do return(shown | join(', ')) -%}
{% endmacro %}
