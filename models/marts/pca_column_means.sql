{#- Empty when the var scoring_method leaves out the loading method, like pca_components: these
    are the means that PCA is centred on. -#}
{{ config(distributed_replicated=true, **netflow_pca.hour_partitioned_config()) }}
-- depends_on: {{ ref('int_pca_input') }}, {{ ref('int_pca_dimensions') }}

{% if 'loading' in netflow_pca.run_vars().scoring_methods -%}
{{ netflow_pca.hourly_column_means_sql(ref('int_pca_input'), 'flow_count', ref('int_pca_dimensions')) }}
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
