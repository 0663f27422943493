{#- The hours of the day this run builds: the hour_id var, or all 24. -#}
{% macro selected_hours() %}
    {%- set hour_id = netflow_pca.validated_hour_id() -%}
    {%- do return([hour_id] if hour_id is not none else range(24) | list) -%}
{% endmacro %}
