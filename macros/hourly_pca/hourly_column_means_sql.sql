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

column_sums as (

    select
        hour_of_day,
        name_id as col_id,
        cast(sum({{ netflow_pca.quote_identifier(val_id) }}) as double precision) as column_sum

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        name_id

),

{#- each sum divided by its hour's row_dim, since the means' row_dim differs by hour: after the
    sums, so that the join meets one row per (hour, user), not every cell #}
hour_sums as (

    select
        column_sums.hour_of_day,
        column_sums.col_id,
        column_sums.column_sum / dimensions.row_dim as column_sum

    from column_sums

    inner join dimensions
        on column_sums.hour_of_day = dimensions.hour_of_day

),

column_means as (

    {{ netflow_pca.pca_column_means_sql(
        'hour_sums', ['hour_of_day'], '1', '(select max(col_dim) from dimensions)'
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
