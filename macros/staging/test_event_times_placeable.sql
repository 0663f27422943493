{#-
    Every event's time can be placed on a day and an hour of the day: the time column holds no
    null, no infinity, no NaN, nothing beyond the years PostgreSQL's timestamps cover (see
    event_time_to_timestamptz, which gives null for all of them). The failing rows are the
    distinct raw values with their counts; since dbt's failure message would only count them, the
    test, when it runs, stops with an error that names the column and the values.
    The events are scanned for the values only when `counted_in` (int_analysis_window, which
    counts the unplaceable events in the scan of the events it makes anyway) has counted some, in
    a build that built it: the test then runs after that model instead of in front of it, and
    gates everything built from the events after it (int_hourly_counts, int_pca_dimensions), so
    that nothing is built from bad events but that one row. Its own scan of the 10 million events
    cost 1.16 s, alone on one core in front of the model's scan. In any other invocation (dbt
    test, a build that does not select that model) the count may be stale: it scans.
-#}
{% test event_times_placeable(model, column_name, counted_in) %}
    {%- set time_column = netflow_pca.events_column('time_column') -%}
    {%- set raw_time = netflow_pca.quote_identifier(time_column.name) if time_column else 'null' -%}
    {%- set events = netflow_pca.events_relation() -%}
    {%- set counted = flags.WHICH == 'build' and counted_in.identifier is defined
        and selected_resources | select('equalto', 'model.' ~ project_name ~ '.' ~ counted_in.identifier) | list -%}
    {%- set failing_rows -%}
        select
            cast({{ raw_time }} as text) as unplaceable_time,
            count(*) as events

        from {{ events }}

        where {{ netflow_pca.event_time_to_timestamptz(time_column) }} is null
        {%- if counted %}
            -- a one-time filter: no scan of the events when it is false
            and (select unplaceable_events from {{ counted_in }}) > 0
        {%- endif %}

        group by 1
    {%- endset -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query(failing_rows ~ " order by 2 desc, 1 limit 6") -%}
        {%- if found.rows -%}
            {%- set shown = [] -%}
            {%- for row in found.rows[:5] -%}
                {%- do shown.append((row[0] if row[0] is not none else 'null') ~ ' (' ~ row[1] ~ (' event)' if row[1] == 1 else ' events)')) -%}
            {%- endfor -%}
            {{- exceptions.raise_compiler_error(
                "The time column " ~ time_column.name ~ " of " ~ events ~ " holds times that cannot be placed on a day: "
                ~ shown | join(', ') ~ (', and others' if found.rows | length > 5 else '')
                ~ ". A time must be a timestamp, a date or epoch seconds (not microseconds) between 4713 BC and"
                ~ " 294275 AD: mend or remove these events") -}}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{% endtest %}
