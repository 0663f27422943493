{#- The residual method's normal-subspace candidates: the leading components of each hour's
    damped deviations (int_residual_pca_input.fit_value), fitted like pca_components. Fitted for
    the set-based route of the residual method only (residual_scoring_route): disabled when the
    vars name plpython, empty when another route runs. -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_by=['hour_of_day'],
    pre_hook=partitioned.get('pre_hook', []) + [
        "{{ netflow_pca.hourly_pca_fit(ref('int_residual_pca_input'), 'fit_value', ref('int_pca_dimensions'), netflow_pca.run_vars().residual_max_components)"
        ~ " if netflow_pca.residual_scoring_route() == 'sql' }}"
    ],
)) }}
-- depends_on: {{ ref('int_residual_pca_input') }}, {{ ref('int_pca_dimensions') }}

{% if netflow_pca.residual_scoring_route() == 'sql' -%}
{{ netflow_pca.hourly_pca_components_sql() }}
{%- else -%}
with

final as (

    select
        cast(null as integer) as hour_of_day,
        cast(null as integer) as row_id,
        cast(null as double precision[]) as principal_components,
        cast(null as double precision) as std_dev,
        cast(null as double precision) as proportion

    where false

)

select * from final
{%- endif %}
