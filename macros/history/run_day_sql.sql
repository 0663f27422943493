{#-
    The day a build reports on, as a SQL date expression: the var run_date, else the last day of
    the window's data (a scalar subquery on the PCA input). It is the day a flag counts as raised
    on in anomaly_history, so that a rerun of the same day is the same day.
-#}
{% macro run_day_sql(pca_input) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if run.run_date -%}
        cast({{ netflow_pca.sql_string_literal(run.run_date) }} as date)
    {%- else -%}
        (select max(day) from {{ pca_input }})
    {%- endif -%}
{% endmacro %}
