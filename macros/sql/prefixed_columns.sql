{#- Columns with a table alias in front, comma-separated. -#}
{% macro prefixed_columns(columns, prefix) %}
    {%- for column in columns -%}{{ prefix ~ column }}{{ ', ' if not loop.last }}{%- endfor -%}
{% endmacro %}
