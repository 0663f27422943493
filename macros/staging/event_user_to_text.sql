{#-
    The user of an event as text, in the natural text form of the user column's type: an inet or
    cidr holding one address as the bare address (host(), so 10.0.0.6, not 10.0.0.6/32, joins
    other logs), a network with its mask; any other type (text, integer, uuid, ...) as its cast
    to text.
-#}
{% macro event_user_to_text(user_column) %}
    {%- if user_column is none -%}
        {%- do return('cast(null as text)') -%}
    {%- endif -%}
    {%- set quoted = netflow_pca.quote_identifier(user_column.name) -%}
    {%- if user_column.dtype | lower in ('inet', 'cidr') -%}
        case
            when masklen({{ quoted }}) = case family({{ quoted }}) when 4 then 32 else 128 end
                then host({{ quoted }})
            else cast({{ quoted }} as text)
        end
    {%- else -%}
        cast({{ quoted }} as text)
    {%- endif -%}
{% endmacro %}
