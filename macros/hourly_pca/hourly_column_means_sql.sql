{#-
    The select of a model of column means (pca_column_means, int_residual_pca_column_means):
    MADlib's <out>_mean table of the hourly fits, (hour_of_day, column_mean float8[]), for the
    hours this run builds, in plain SQL from the PCA input's column sums, with the dimensions the
    fits use (each hour's row_dim; col_dim, the same for every hour), so that each hour is fitted
    once.
-#}
{% macro hourly_column_means_sql(pca_input, val_id, dimensions) %}
{#- the sums in two halves of the columns, a group-by each in a UNION ALL, as int_hourly_counts
    counts: the halves are disjoint in the group key, PostgreSQL runs them side by side (a Parallel
    Append under a Gather) on its own, and each column's sum still adds its cells in one process
    in the table's order (the same sums, bit for bit). Each half scans the whole input; on
    int_residual_pca_input at 10 M events (5.8 M cells, 770 MB) CREATE TABLE AS alternated twice at
    load 4.6 (CPU of the statement's processes, /proc): one group-by 2.53-2.56 s in one process;
    the halves 2.10-2.24 s in the leader (its half and the means) and 1.02-1.04 s in a worker.
    One part on Greenplum, whose segments share the group-by. #}
{%- set halves = netflow_pca.hash_halves() %}
with

pca_input as not materialized (

    select * from {{ pca_input }}

),

dimensions as (

    select * from {{ dimensions }}

),

column_sums as (
    {%- for half in halves %}

    select
        hour_of_day,
        name_id as col_id,
        cast(sum({{ netflow_pca.quote_identifier(val_id) }}) as double precision) as column_sum

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}
    {%- if half %}
        and hashint4(name_id) {{ half }}
    {%- endif %}

    group by
        hour_of_day,
        name_id
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

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
