{% macro integer_or_none(value) %}
    {#- an int, or a string of decimal digits (Dagster partition keys and shells pass strings) -#}
    {%- if value is integer -%}
        {%- do return(value) -%}
    {%- elif value is string and modules.re.fullmatch('[0-9]{1,9}', value) -%}
        {%- do return(value | int) -%}
    {%- endif -%}
    {%- do return(none) -%}
{% endmacro %}
