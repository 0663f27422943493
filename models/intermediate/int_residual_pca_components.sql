{#- The residual method's normal-subspace candidates: the leading components of each hour's
    damped deviations (int_residual_pca_input.fit_value), fitted like pca_components. -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    pre_hook=partitioned.get('pre_hook', []) + [
        "{{ netflow_pca.hourly_pca_fit(ref('int_residual_pca_input'), 'fit_value', netflow_pca.run_vars().residual_max_components) }}"
    ],
)) }}
-- depends_on: {{ ref('int_residual_pca_input') }}

with

fit as (

    select * from {{ netflow_pca.hourly_pca_fit_relation() }}

),

final as (

    select
        hour_of_day,
        row_id,
        principal_components,
        std_dev,
        proportion

    from fit

)

select * from final
