{#-
    The select of a model of column means (pca_column_means, int_residual_pca_column_means):
    MADlib's <out>_mean table of the hourly fits, (hour_of_day, column_mean float8[]), for the
    hours this run builds, in plain SQL from the PCA input's column sums, with the dimensions the
    fits use (each hour's row_dim; col_dim, the same for every hour), so that each hour is fitted
    once.
-#}
{% macro hourly_column_means_sql(pca_input, val_id, dimensions) %}
with

pca_input as (

    select * from {{ pca_input }}

),

dimensions as (

    select * from {{ dimensions }}

),

{#- each sum already divided by its hour's row_dim, since the means' row_dim differs by hour #}
column_sums as (

    select
        pca_input.hour_of_day,
        pca_input.name_id as col_id,
        cast(sum(pca_input.{{ netflow_pca.quote_identifier(val_id) }}) as double precision) / dimensions.row_dim
            as column_sum

    from pca_input

    inner join dimensions
        on pca_input.hour_of_day = dimensions.hour_of_day

    where {{ netflow_pca.hour_filter('pca_input.hour_of_day') }}

    group by
        pca_input.hour_of_day,
        pca_input.name_id,
        dimensions.row_dim

),

column_means as (

    {{ netflow_pca.pca_column_means_sql(
        'column_sums', ['hour_of_day'], '1', '(select max(col_dim) from dimensions)'
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
