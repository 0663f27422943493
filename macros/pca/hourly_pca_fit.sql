{#-
    The pre-hook of a model of principal components (pca_components, int_residual_pca_components):
    one pca_sparse_train fit per hour of the day over a PCA input (day_id x name_id, values
    val_id, grouped by hour_of_day), for the hours this run builds, into the temporary table
    hourly_pca_fit_relation() that the model then selects from. It runs inside the model's
    transaction, so a failure leaves the model as it was. Without max_components it keeps the
    var variance_target's share of variance; with it, that many components at most (and at most
    one fewer than the days).
-#}
{% macro hourly_pca_fit(pca_input, val_id, max_components=none) %}
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
    {%- set components_param = run.variance_target if max_components is none
        else [[max_components, row_dim - 1, col_dim] | min, 1] | max -%}
    {%- set args = netflow_pca.pca_arguments(
        source, fit, 'day_id', 'name_id', val_id, row_dim | int, col_dim | int, components_param, 'hour_of_day') -%}
    {%- do netflow_pca.pca_fit(args, netflow_pca.pca_backend(run.pca_backend), args.out, none, target.schema) -%}
    {%- do return('') -%}
{% endmacro %}
