{{ config(distributed_replicated=true, **netflow_pca.hour_partitioned_config()) }}

{{ netflow_pca.hourly_column_means_sql(ref('int_residual_pca_input'), 'fit_value', ref('int_pca_dimensions')) }}
