{#-
    The pre-hook of a model of principal components (pca_components, int_residual_pca_components):
    one pca_sparse_train fit per hour of the day over a PCA input (day_id x name_id, values
    val_id, grouped by hour_of_day; its zero values left out, as absent cells of the sparse
    matrix are), for the hours this run builds, into the temporary table
    hourly_pca_fit_relation() that the model then selects from. Each hour is fitted with its own
    row_dim and col_dim from `dimensions` (int_pca_dimensions), which come from the window alone,
    so an hour fits the same in a run of one hour as in a run of all; the hours that share
    dimensions are fitted together (MADlib's grouping applies one row_dim and col_dim to every
    group). It runs inside the model's transaction, so a failure leaves the model as it was.
    Without max_components it keeps the var variance_target's share of variance; with it, that
    many components at most (and at most one fewer than the days). With vector_variance_factor,
    the sql backend computes the vectors of the leading components only while each one's variance
    exceeds that factor times the mean variance of it and all that follow (at most the days less
    its number); the later ones keep their row, std_dev and proportion, with a null vector.
-#}
{% macro hourly_pca_fit(pca_input, val_id, dimensions, max_components=none, vector_variance_factor=none) %}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set fit = netflow_pca.hourly_pca_fit_relation() -%}
    {%- set fit_part = 'pg_temp.' ~ netflow_pca.quote_identifier(this.identifier ~ '__fit_part') -%}
    {%- set hour_groups = run_query(
        'select row_dim, col_dim, array_to_string(array_agg(hour_of_day order by hour_of_day), \',\')'
        ~ ' from ' ~ dimensions ~ ' where ' ~ netflow_pca.hour_filter('hour_of_day')
        ~ ' group by row_dim, col_dim order by row_dim, col_dim'
    ).rows -%}
    {%- do run_query('drop table if exists ' ~ fit) -%}
    {%- if hour_groups | length == 0 -%}
        {#- no input at all: an empty fit -#}
        {%- do netflow_pca.pca_output_tables(fit, none, ['hour_of_day integer']) -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- for row_dim, col_dim, hours in hour_groups -%}
        {#- the fit reads the cells through a view of its hours' non-zero values: a zero is an
            absent cell of the sparse matrix, and the residual fit's damped deviations are 0 on
            most cells (3.6 of 5.8 million at 10 M events), which every step of the fit would
            otherwise carry (the sql backend's lines, Gram sums and projections) -#}
        {%- set source = 'pg_temp.hourly_pca_input' -%}
        {%- do run_query('create or replace temporary view hourly_pca_input as select * from ' ~ pca_input
            ~ ' where ' ~ netflow_pca.quote_identifier(val_id) ~ ' is distinct from 0'
            ~ (' and hour_of_day in (' ~ hours ~ ')' if hours.split(',') | length < 24 else '')) -%}
        {%- set out = fit if loop.first else fit_part -%}
        {%- set components_param = run.variance_target if max_components is none
            else [[max_components, row_dim - 1, col_dim] | min, 1] | max -%}
        {%- set args = netflow_pca.pca_arguments(
            source, out, 'day_id', 'name_id', val_id, row_dim | int, col_dim | int, components_param, 'hour_of_day') -%}
        {%- do args.update({'vector_variance_factor': vector_variance_factor}) -%}
        {%- do netflow_pca.pca_fit(args, netflow_pca.pca_backend(run.pca_backend), args.out, none, target.schema) -%}
        {%- if not loop.first -%}
            {%- do run_query('insert into ' ~ fit ~ ' select * from ' ~ fit_part ~ '; drop table ' ~ fit_part) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return('') -%}
{% endmacro %}
