{#- The column means of the residual method's fit; disabled or empty when its set-based route does
    not run (residual_scoring_route), like int_residual_pca_components. From the per-user sums of
    int_residual_user_statistics (one row per hour and user, 400,000 at 10 M events), which added
    each user's cells in the table's order as the sums over the cells did: the same means bit for
    bit, without two more scans of the 5.8 M cells beside the fit. 32 MB of work_mem for the hash
    of those ~400,000 sums (45 MB; at the default 4 MB it spilled to 129 batches). -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_replicated=true,
    pre_hook=partitioned.get('pre_hook', []) + ["set local work_mem = '32MB'"],
)) }}
-- depends_on: {{ ref('int_residual_user_statistics') }}, {{ ref('int_pca_dimensions') }}

{% if netflow_pca.residual_scoring_route() == 'sql' -%}
{{ netflow_pca.hourly_column_means_sql(ref('int_residual_user_statistics'), 'fit_sum', ref('int_pca_dimensions')) }}
{%- else -%}
with

final as (

    select
        cast(null as integer) as hour_of_day,
        cast(null as double precision[]) as column_mean

    where false

)

select * from final
{%- endif %}
