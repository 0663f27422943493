{#- The fit itself runs in a pre-hook, after any hook of the partitioning config, through
    pca_sparse_train's machinery (netflow_pca.pca_fit): one fit per hour of the day, MADlib's
    layout, into a temporary table read here. #}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    distributed_by=['hour_of_day'],
    pre_hook=partitioned.get('pre_hook', []) + ["{{ netflow_pca.hourly_pca_fit(ref('int_pca_input'), 'flow_count', ref('int_pca_dimensions')) }}"],
)) }}
-- depends_on: {{ ref('int_pca_input') }}, {{ ref('int_pca_dimensions') }}

{{ netflow_pca.hourly_pca_components_sql() }}
