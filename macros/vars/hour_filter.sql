{#- A predicate on an hour-of-day expression that keeps the hours this run builds. -#}
{% macro hour_filter(hour_expression) %}
    {%- set hours = netflow_pca.selected_hours() -%}
    {%- if hours | length == 24 -%}
        true
    {%- else -%}
        {{ hour_expression }} in ({{ hours | join(', ') }})
    {%- endif -%}
{% endmacro %}
