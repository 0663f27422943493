{{ config(distributed_by=['user_name'], **netflow_pca.hour_partitioned_config()) }}

with

outlier_scores as (

    select * from {{ ref('user_outlier_scores') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

flagged as (

    select * from outlier_scores

    where is_anomalous

),

final as (

    select
        hour_of_day,
        method,
        cast(row_number() over (
            partition by hour_of_day, method
            order by score desc, user_name collate "C"
        ) as integer) as anomaly_rank,
        user_name,
        score,
        threshold,
        evidence_day,
        evidence_component,
        flow_count,
        expected_flow_count,
        kept_components,
        first_evidence_day,
        last_evidence_day

    from flagged

)

select * from final
