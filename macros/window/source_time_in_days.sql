{#-
    A predicate on `column`, the events' time as the events table stores it (stg_flows__events'
    flow_source_time), that holds for every event whose day in the `timezone` var lies in
    [from_day, until_day) (SQL date expressions; none leaves that side open): the stored times
    from the UTC midnight a day before from_day to the one a day after until_day, since no time
    zone is a day away from UTC, and none when the run of days is empty. A comparison of the
    stored value with a constant, so it costs no conversion of the time, and an index on the time
    column serves it; it only narrows what the caller's exact test of the local day then reads,
    and is true while dbt parses.
-#}
{% macro source_time_in_days(column, from_day, until_day) %}
    {%- set time_column = netflow_pca.events_column('time_column') -%}
    {%- set bounds = [] -%}
    {%- if time_column is not none and from_day is not none and until_day is not none -%}
        {#- an empty run of days would otherwise still let in the day either side of it -#}
        {%- do bounds.append('(' ~ from_day ~ ') < (' ~ until_day ~ ')') -%}
    {%- endif -%}
    {%- if time_column is not none and from_day is not none -%}
        {%- do bounds.append(column ~ ' >= ' ~ netflow_pca._source_time_of_day(time_column, '(' ~ from_day ~ ') - 1')) -%}
    {%- endif -%}
    {%- if time_column is not none and until_day is not none -%}
        {%- do bounds.append(column ~ ' < ' ~ netflow_pca._source_time_of_day(time_column, '(' ~ until_day ~ ') + 1')) -%}
    {%- endif -%}
    {{- '(' ~ bounds | join(' and ') ~ ')' if bounds else 'true' -}}
{% endmacro %}


{#- The UTC midnight that starts the day `day` (a SQL date expression), in the time column's type
    (event_time_to_timestamptz reads the same types): epoch seconds, a timestamp or a date. -#}
{% macro _source_time_of_day(time_column, day) %}
    {%- set data_type = time_column.dtype | lower -%}
    {%- set epoch_seconds = 'cast((' ~ day ~ ") - date '1970-01-01' as bigint) * 86400" -%}
    {%- if data_type in ('smallint', 'integer', 'bigint') -%}
        {#- compared across integer types as they are: an integer column is never cast -#}
        {{- epoch_seconds -}}
    {%- elif time_column.is_number() -%}
        cast({{ epoch_seconds }} as {{ data_type }})
    {%- elif data_type == 'timestamp with time zone' -%}
        (cast({{ day }} as timestamp) at time zone 'UTC')
    {%- elif data_type == 'timestamp without time zone' -%}
        cast({{ day }} as timestamp)
    {%- else -%}
        cast({{ day }} as date)
    {%- endif -%}
{% endmacro %}
