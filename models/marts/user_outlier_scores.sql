{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}

{#- Every method's model is built whichever the var scoring_method picks (the ones it leaves out
    are empty), so that the lineage is the same for every run. -#}

with

residual_scores as (

    select * from {{ ref('int_residual_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

loading_scores as (

    select * from {{ ref('int_loading_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

scores as (

    select * from residual_scores

    union all

    select * from loading_scores

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
