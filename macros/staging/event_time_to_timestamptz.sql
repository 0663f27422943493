{#-
    The instant of an event as timestamptz, from a time column holding epoch seconds (any number
    type), a timestamptz, or a timestamp or date without zone (read as UTC). A value that cannot
    be placed on a day and an hour in every time zone (null, infinity, NaN, or beyond the years
    4713 BC to 294275 AD, where PostgreSQL's timestamps end: epoch microseconds, for one) gives
    null, never an error, so that the staging tests can name it (event_times_placeable).
-#}
{% macro event_time_to_timestamptz(time_column) %}
    {%- if time_column is none -%}
        {%- do return('cast(null as timestamptz)') -%}
    {%- endif -%}
    {%- set quoted = netflow_pca.quote_identifier(time_column.name) -%}
    {%- set data_type = time_column.dtype | lower -%}
    {%- set first, last = '4713-01-01 00:00:00+00 BC', '294275-12-31 00:00:00+00' -%}
    {%- if time_column.is_number() -%}
        {#- the epoch seconds of those two instants; NaN sorts above every number -#}
        {%- set first_second, last_second = netflow_pca.placeable_epoch_seconds() %}
        case when {{ quoted }} between {{ first_second }} and {{ last_second }}
            then to_timestamp(cast({{ quoted }} as double precision)) end
    {%- elif data_type in ('timestamp with time zone', 'timestamp without time zone', 'date') -%}
        case when {{ quoted }} between cast('{{ first }}' as {{ data_type }}) and cast('{{ last }}' as {{ data_type }})
            then {{ quoted if data_type == 'timestamp with time zone' else '(cast(' ~ quoted ~ " as timestamp) at time zone 'UTC')" }} end
    {%- else -%}
        {{- exceptions.raise_compiler_error(
            "Invalid var time_column: column '" ~ time_column.name ~ "' has type " ~ data_type
            ~ "; expected epoch seconds (a number type), a timestamp or a date") -}}
    {%- endif -%}
{% endmacro %}
