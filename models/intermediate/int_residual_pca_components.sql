{#- The residual method's normal-subspace candidates: the leading components of each hour's
    damped deviations (int_residual_pca_input.fit_value), fitted like pca_components. -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    distributed_by=['hour_of_day'],
    pre_hook=partitioned.get('pre_hook', []) + [
        "{{ netflow_pca.hourly_pca_fit(ref('int_residual_pca_input'), 'fit_value', ref('int_pca_dimensions'), netflow_pca.run_vars().residual_max_components) }}"
    ],
)) }}
-- depends_on: {{ ref('int_residual_pca_input') }}, {{ ref('int_pca_dimensions') }}

{{ netflow_pca.hourly_pca_components_sql() }}
