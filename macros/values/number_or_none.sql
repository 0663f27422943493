{% macro number_or_none(value) %}
    {%- if value is number and value is not boolean and value == value -%}
        {%- do return(value) -%}
    {%- elif value is string and modules.re.fullmatch('[0-9]+([.][0-9]*)?|[.][0-9]+', value) -%}
        {%- do return(value | float) -%}
    {%- endif -%}
    {%- do return(none) -%}
{% endmacro %}
