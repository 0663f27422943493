{#-
    The pre-hook of the pca_components mart: one pca_sparse_train fit per hour of the day over
    the PCA input (day_id x name_id, values flow_count, grouped by hour_of_day), for the hours this
    run builds, into the temporary table hourly_pca_fit_relation() that the model then selects
    from. It runs inside the model's transaction, so a failure leaves the mart as it was.
-#}
{% macro hourly_pca_fit(pca_input) %}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set fit = netflow_pca.hourly_pca_fit_relation() -%}
    {%- set row_dim, col_dim = run_query(netflow_pca.pca_input_dimensions_sql(pca_input)).rows[0] -%}
    {%- do run_query('drop table if exists ' ~ fit) -%}
    {%- if row_dim is none -%}
        {#- no input at all: an empty fit -#}
        {%- do netflow_pca._pca_create_outputs(fit, none, ['hour_of_day integer']) -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set source = pca_input -%}
    {%- if run.hour_id is not none -%}
        {%- set source = 'pg_temp.hourly_pca_input' -%}
        {%- do run_query('create or replace temporary view hourly_pca_input as select * from ' ~ pca_input
            ~ ' where ' ~ netflow_pca.hour_filter('hour_of_day')) -%}
    {%- endif -%}
    {%- set args = netflow_pca.pca_arguments(
        source, fit, 'day_id', 'name_id', 'flow_count', row_dim | int, col_dim | int, run.variance_target, 'hour_of_day') -%}
    {%- do netflow_pca.pca_fit(args, netflow_pca.pca_backend(run.pca_backend), args.out, none, target.schema) -%}
    {%- do return('') -%}
{% endmacro %}
