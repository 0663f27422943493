{#-
    dbt's not_null, for a column whose nulls another model counts in a scan of the rows it makes
    anyway (counted_in, its column count_column): in a build that builds that model, the test
    runs after it and reads the rows only when the count is not 0, so that a scan of the rows
    costs nothing in front of that model. In any other invocation (dbt test, a build that does
    not select that model) the count may be stale: it scans. As event_times_placeable.
-#}
{% test not_null_counted_in(model, column_name, counted_in, count_column) %}
    {%- set counted = flags.WHICH == 'build' and counted_in.identifier is defined
        and selected_resources | select('equalto', 'model.' ~ project_name ~ '.' ~ counted_in.identifier) | list %}
    select {{ column_name }}

    from {{ model }}

    where {{ column_name }} is null
    {%- if counted %}
        -- a one-time filter: no scan of the rows when it is false
        and (select {{ count_column }} from {{ counted_in }}) > 0
    {%- endif %}
{% endtest %}
