{#- A join condition: the same values of the grouping columns on both sides. -#}
{% macro same_group_condition(columns, left, right) %}
    {%- for column in columns -%}
        {{ left }}.{{ column }} = {{ right }}.{{ column }}{{ ' and ' if not loop.last }}
    {%- endfor -%}
{% endmacro %}
