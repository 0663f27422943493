-- Every cell of the PCA input is an hourly count, unchanged: the rows where the two disagree.
-- Only the hours this run builds: a run of other hours at the same time commits its models one
-- by one, so across two models its hours may be half rewritten.
with

pca_input as (

    select * from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

final as (

    select
        pca_input.hour_of_day,
        pca_input.user_name,
        pca_input.day,
        pca_input.flow_count as pca_input_count,
        hourly_counts.flow_count as hourly_count

    from pca_input

    left join hourly_counts
        on hourly_counts.hour_of_day = pca_input.hour_of_day
        and hourly_counts.user_name = pca_input.user_name
        and hourly_counts.day = pca_input.day

    where hourly_counts.flow_count is distinct from pca_input.flow_count

)

select * from final
