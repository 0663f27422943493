{#- The column means of the residual method's fit; disabled or empty when its set-based route does
    not run (residual_scoring_route), like int_residual_pca_components. 32 MB of work_mem for the
    sums of ~400,000 (hour, user) over 5.8 M cells at 10 M events: at the default 4 MB their hash
    spilled to 129 batches (250 MB of temporary files); with it (45 MB of hash, one batch) and the
    sums divided by row_dim after grouping, 2.5 s of CPU instead of 3.9-4.0 (the backend's CPU
    time for the compiled select, alternated, load 9-12). -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_replicated=true,
    pre_hook=partitioned.get('pre_hook', []) + ["set local work_mem = '32MB'"],
)) }}
-- depends_on: {{ ref('int_residual_pca_input') }}, {{ ref('int_pca_dimensions') }}

{% if netflow_pca.residual_scoring_route() == 'sql' -%}
{{ netflow_pca.hourly_column_means_sql(ref('int_residual_pca_input'), 'fit_value', ref('int_pca_dimensions')) }}
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
