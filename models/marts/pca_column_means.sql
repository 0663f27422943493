{{ config(distributed_replicated=true, **netflow_pca.hour_partitioned_config()) }}

{{ netflow_pca.hourly_column_means_sql(ref('int_pca_input'), 'flow_count', ref('int_pca_dimensions')) }}
