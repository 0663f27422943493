{#- The planner misjudges the sizes of the scoring CTEs and picks merge joins that rescan the
    cells' projections millions of times (16 s instead of 2 s for 40,000 cells): hash joins only,
    for this model's transaction. -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    distributed_by=['user_name'],
    pre_hook=partitioned.get('pre_hook', []) + ['set local enable_mergejoin = off'],
)) }}

{#- Every method's inputs are dependencies whichever the var scoring_method picks, so that the
    lineage is the same for every run. -#}
-- depends_on: {{ ref('int_residual_pca_input') }}, {{ ref('int_residual_pca_components') }}, {{ ref('int_residual_pca_column_means') }}
-- depends_on: {{ ref('int_pca_input') }}, {{ ref('pca_components') }}
{%- set run = netflow_pca.run_vars() %}

with

{% if 'residual' in run.scoring_methods -%}
residual_scores as (

    {{ netflow_pca.residual_scores_sql(
        ref('int_residual_pca_input'),
        ref('int_residual_pca_components'),
        ref('int_residual_pca_column_means'),
        run.residual_threshold,
    ) }}

),

{% endif -%}
{% if 'loading' in run.scoring_methods -%}
loading_scores as (

    {{ netflow_pca.loading_scores_sql(ref('int_pca_input'), ref('pca_components'), run.loading_threshold) }}

),

{% endif -%}
scores as (

    {% for method in run.scoring_methods -%}
    select * from {{ method }}_scores
    {% if not loop.last %}
    union all

    {% endif -%}
    {% endfor %}

),

final as (

    select
        hour_of_day,
        user_name,
        method,
        score,
        threshold,
        is_anomalous,
        evidence_day,
        evidence_component,
        flow_count,
        expected_flow_count,
        kept_components

    from scores

)

select * from final
