{#- A quoted identifier for any name: adapter.quote does not double embedded quotes, this does. -#}
{% macro quote_identifier(name) %}
    {%- do return(adapter.quote(name | replace('"', '""'))) -%}
{% endmacro %}
