{#-
    A whole number of components (the var variance_target read as MADlib's components_param) is
    at most each hour's row_dim and col_dim (int_pca_dimensions), the range MADlib accepts. It
    fails with the hours whose matrix is smaller, and, when it runs, stops with an error naming
    the var, before any model of the window is written.
-#}
{% test components_fit_the_window(model) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set components = run.variance_target if run.variance_target is integer else 0 -%}
    {%- set failing_rows -%}
        select
            hour_of_day,
            row_dim,
            col_dim

        from {{ model }}

        where row_dim < {{ components }}
            or col_dim < {{ components }}
    {%- endset -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query(failing_rows ~ " order by least(row_dim, col_dim), hour_of_day limit 1") -%}
        {%- if found.rows -%}
            {%- set hour, days, users = found.rows[0] -%}
            {{- exceptions.raise_compiler_error(
                "Invalid var variance_target: " ~ components ~ " components, but the window's matrix of hour "
                ~ hour ~ " has " ~ days ~ " days and " ~ users ~ " users, and at most " ~ [days, users] | min
                ~ " components can be asked for (a fraction such as 0.99 keeps a share of the variance instead)") -}}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{% endtest %}
