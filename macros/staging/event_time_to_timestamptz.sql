{#-
    The instant of an event as timestamptz, from a time column holding epoch seconds (any number
    type), a timestamptz, or a timestamp or date without zone (read as UTC).
-#}
{% macro event_time_to_timestamptz(time_column) %}
    {%- if time_column is none -%}
        {%- do return('cast(null as timestamptz)') -%}
    {%- endif -%}
    {%- set quoted = netflow_pca.quote_identifier(time_column.name) -%}
    {%- set data_type = time_column.dtype | lower -%}
    {%- if time_column.is_number() -%}
        to_timestamp(cast({{ quoted }} as double precision))
    {%- elif data_type in ('timestamp with time zone', 'timestamptz') -%}
        {{ quoted }}
    {%- elif data_type in ('timestamp without time zone', 'timestamp', 'date') -%}
        (cast({{ quoted }} as timestamp) at time zone 'UTC')
    {%- else -%}
        {{- exceptions.raise_compiler_error(
            "Invalid var time_column: column '" ~ time_column.name ~ "' has type " ~ data_type
            ~ "; expected epoch seconds (a number type), a timestamp or a date") -}}
    {%- endif -%}
{% endmacro %}
