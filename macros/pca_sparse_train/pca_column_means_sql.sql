{#-
    A select of MADlib's mean table, (column_mean float8[], <grouping columns>): per group, the
    mean of each column 1..col_dim over all row_dim rows, absent cells counting as zeros. It reads
    a relation or subquery of column sums (<grouping columns>, col_id, column_sum), read once, so
    every caller computes the sums its own way, in a pass over the data it makes anyway. row_dim and col_dim are SQL
    expressions. Without grouping columns it gives one row, even for no data.
-#}
{% macro pca_column_means_sql(column_sums, group_columns, row_dim, col_dim) %}
    {%- set group_list = group_columns | join(', ') %}
    with

    sums as (

        select * from {{ column_sums }} as column_sums

    )

    select
        array_agg(
            cast(coalesce(sums.column_sum, 0) as double precision) / {{ row_dim }}
            order by columns.col_id
        ) as column_mean
        {%- for group in group_columns %},
        groups.{{ group }}
        {%- endfor %}

    from {% if group_columns %}(select distinct {{ group_list }} from sums){% else %}(select 1){% endif %} as groups

    cross join generate_series(1, {{ col_dim }}) as columns (col_id)

    left join sums
        on sums.col_id = columns.col_id
        {%- for group in group_columns %}
        and sums.{{ group }} = groups.{{ group }}
        {%- endfor %}

    {% if group_columns -%}
    group by {% for group in group_columns %}groups.{{ group }}{{ ', ' if not loop.last }}{% endfor %}
    {%- endif %}
{% endmacro %}
