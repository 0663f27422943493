{#- The hours of the day this run builds: the hour_id var, or all 24. The one var, validated as
    run_vars validates it: run_vars reads and checks every var, about 1 ms a call, and this is
    called in most models' hooks and filters (over 60 times while dbt parses the project). -#}
{% macro selected_hours() %}
    {%- set hour_id = netflow_pca._hour_var('hour_id') -%}
    {%- do return([hour_id] if hour_id is not none else range(24) | list) -%}
{% endmacro %}
