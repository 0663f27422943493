{{ config(**netflow_pca.hour_partitioned_config()) }}

with

pca_input as (

    select * from {{ ref('int_pca_input') }}

),

dimensions as (

    {{ netflow_pca.pca_input_dimensions_sql('pca_input') }}

),

column_sums as (

    select
        hour_of_day,
        name_id as col_id,
        sum(flow_count) as column_sum

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        name_id

),

column_means as (

    {{ netflow_pca.pca_column_means_sql(
        'column_sums', ['hour_of_day'], '(select row_dim from dimensions)', '(select col_dim from dimensions)'
    ) }}

),

final as (

    select
        hour_of_day,
        column_mean

    from column_means

)

select * from final
