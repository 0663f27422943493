{#- The column means of the residual method's fit; disabled or empty when its set-based route does
    not run (residual_scoring_route), like int_residual_pca_components. -#}
{{ config(
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_replicated=true,
    **netflow_pca.hour_partitioned_config()
) }}
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
