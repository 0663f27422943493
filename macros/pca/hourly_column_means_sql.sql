{#-
    The select of a model of column means (pca_column_means, int_residual_pca_column_means):
    MADlib's <out>_mean table of the hourly fits, (hour_of_day, column_mean float8[]), for the
    hours this run builds, in plain SQL from the PCA input's column sums, with the dimensions the
    fits use, so that each hour is fitted once.
-#}
{% macro hourly_column_means_sql(pca_input, val_id) %}
with

pca_input as (

    select * from {{ pca_input }}

),

dimensions as (

    {{ netflow_pca.pca_input_dimensions_sql('pca_input') }}

),

column_sums as (

    select
        hour_of_day,
        name_id as col_id,
        sum({{ netflow_pca.quote_identifier(val_id) }}) as column_sum

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
{% endmacro %}
