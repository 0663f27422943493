{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}

{#- Every method's model is built whichever the var scoring_method picks (the ones it leaves out
    are empty). The loading method's scores are read only when the var names the method: they
    wait for int_pca_input's tests, which the residual method, the default, does not read (the
    numpy route reads the counts), so that the scores and the marts after them are built beside
    those tests. The lineage of a run that names it only gains ancestors over Dagster's asset
    graph, parsed without vars: no model can run before an input of that graph. -#}
{%- set scoring_methods = netflow_pca.run_vars().scoring_methods %}

with

residual_scores as (

    select * from {{ ref('int_residual_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

{%- if 'loading' in scoring_methods %}

loading_scores as (

    select * from {{ ref('int_loading_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),
{%- endif %}

scores as (

    select * from residual_scores
    {%- if 'loading' in scoring_methods %}

    union all

    select * from loading_scores
    {%- endif %}

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
        kept_components,
        first_evidence_day,
        last_evidence_day

    from scores

)

select * from final
