{#- The var hour_id, checked: none (all hours) or an hour of the day. run_vars reads it through
    this, and selected_hours and hour_partitioned_config read it alone: most models call them
    (over 60 times while dbt parses the project), where run_vars reads and checks every var,
    about 1 ms a call. -#}
{% macro validated_hour_id() %}
    {%- set value = var('hour_id', none) -%}
    {%- if value is none -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set hour = netflow_pca.integer_or_none(value) -%}
    {%- if hour is none or hour < 0 or hour > 23 -%}
        {{- netflow_pca.invalid_var('hour_id', value, 'an hour of the day, an integer from 0 to 23') -}}
    {%- endif -%}
    {%- do return(hour) -%}
{% endmacro %}
