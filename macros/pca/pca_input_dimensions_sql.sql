{#-
    A select of the dimensions the hourly fits use: row_dim = max(day_id) and col_dim =
    max(name_id) over the whole PCA input, all hours, as MADlib's grouping applies one row_dim and
    col_dim to every group (an hour that lacks a day has a zero row for it, one that lacks a user a
    zero column). Over all hours, a one-hour run fits its hour exactly as an all-hours run would.
-#}
{% macro pca_input_dimensions_sql(pca_input) %}
    select
        max(day_id) as row_dim,
        max(name_id) as col_dim
    from {{ pca_input }}
{% endmacro %}
