{#-
    A whole number of components (the var variance_target read as MADlib's components_param) is
    at most the rows (days) and columns (users) of every hour's matrix, the range MADlib accepts.
    It fails with the rows of the model whose days or users are fewer, and, when it runs, stops
    with an error naming the var. On int_analysis_window (days only) it stops the run before
    anything of the window is counted; on int_pca_dimensions it checks each hour's matrix, before
    the PCA is fitted.
-#}
{% test components_fit_the_window(model, days_column, users_column=none) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set components = run.variance_target if run.variance_target is integer else 0 -%}
    {%- set failing_rows -%}
        select
            {{ days_column }} as days,
            {{ users_column or 'cast(null as integer)' }} as users

        from {{ model }}

        where {{ days_column }} < {{ components }}
        {%- if users_column %}
            or {{ users_column }} < {{ components }}
        {%- endif %}
    {%- endset -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query("select * from (" ~ failing_rows ~ ") as failing order by least(days, users) limit 1") -%}
        {%- if found.rows -%}
            {%- set days, users = found.rows[0] -%}
            {%- set most = [days, users] | reject('none') | min -%}
            {{- exceptions.raise_compiler_error(
                "Invalid var variance_target: " ~ components ~ " components, but the window's matrices have "
                ~ days ~ " days" ~ (" and " ~ users ~ " users" if users is not none else "")
                ~ ", so at most " ~ most ~ " components can be asked for (a fraction such as 0.99 keeps a"
                ~ " share of the variance instead)") -}}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{% endtest %}
