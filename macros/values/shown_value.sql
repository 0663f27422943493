{% macro shown_value(value) %}
    {%- if value is string -%}
        {%- do return("'" ~ value[:80] ~ ("..." if value | length > 80 else "") ~ "'") -%}
    {%- endif -%}
    {%- do return(value | string) -%}
{% endmacro %}
