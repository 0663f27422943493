{#- The fit itself runs in a pre-hook, after any hook of the partitioning config, through
    pca_sparse_train's machinery (netflow_pca.pca_fit): one fit per hour of the day, MADlib's
    layout, into a temporary table read here. Only the loading method reads these components: when
    the var scoring_method leaves it out, the fit is skipped and the table is built empty, which
    saves the build a full PCA of the raw counts that nothing would read. #}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{%- set is_used = 'loading' in netflow_pca.run_vars().scoring_methods %}
{{ config(**dict(
    partitioned,
    distributed_by=['hour_of_day'],
    pre_hook=partitioned.get('pre_hook', []) + ["{{ netflow_pca.hourly_pca_fit(ref('int_pca_input'), 'flow_count', ref('int_pca_dimensions')) if 'loading' in netflow_pca.run_vars().scoring_methods }}"],
)) }}
-- depends_on: {{ ref('int_pca_input') }}, {{ ref('int_pca_dimensions') }}

{% if is_used -%}
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
