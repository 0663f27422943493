{#-
    MADlib's pca_sparse_train, on any PostgreSQL: the principal components of a sparse matrix
    (one row per non-zero cell: row id, column id, value), one fit per group of grouping_cols,
    written as MADlib writes them: out_table (row_id, principal_components float8[], std_dev,
    proportion, <grouping columns>) and out_table_mean (column_mean float8[], <grouping columns>).
    Arguments as MADlib's (see pca_arguments for their checks); the backend is the var
    pca_backend's (see pca_backend). Existing output tables are replaced, in one transaction with
    the fit, so that a failure leaves them as they were. Call it from a model (in a hook: it joins
    the model's transaction) or as `dbt run-operation pca_sparse_train --args '{source_table: ...}'`.
-#}
{% macro pca_sparse_train(source_table, out_table, row_id, col_id, val_id, row_dim, col_dim, components_param, grouping_cols=none) %}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set args = netflow_pca.pca_arguments(
        source_table, out_table, row_id, col_id, val_id, row_dim, col_dim, components_param, grouping_cols) -%}
    {%- do netflow_pca.pca_operation_transaction('begin') -%}
    {%- set backend = netflow_pca.pca_backend(netflow_pca.run_vars().pca_backend) -%}
    {%- do run_query('drop table if exists ' ~ args.out ~ ', ' ~ args.out_mean) -%}
    {%- do netflow_pca.pca_fit(args, backend, args.out, args.out_mean, args.out_schema) -%}
    {%- do netflow_pca.pca_operation_transaction('commit') -%}
{% endmacro %}
