{#-
    The relations whose other hours a run of the given residual scoring route reads (in
    int_residual_scores), each with the names of what its rows depend on (hour_build_parameters),
    in the order a refusal names them: the numpy route reads every hour's counts, the set-based
    route every hour's user components and expected counts; none for the route 'none'.
-#}
{% macro hours_read_across(route) %}
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
