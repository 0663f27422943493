{#- A SQL string literal for any text: quotes doubled, so the value can never end the literal. -#}
{% macro sql_string_literal(value) %}
    {%- if '\x00' in value -%}
        {{- exceptions.raise_compiler_error("A NUL character cannot be sent to PostgreSQL: " ~ value[:40]) -}}
    {%- endif -%}
    {%- do return("'" ~ value | replace("'", "''") ~ "'") -%}
{% endmacro %}
