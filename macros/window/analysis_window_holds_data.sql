{#-
    The window the run decided (int_analysis_window) holds events. It fails when it holds none: a
    run_date before or after the data (a typo such as 2100-01-01), or, without run_date, no event
    before today (every time in the future: epoch milliseconds read as seconds). Since dbt's
    failure message would only count the rows, the test, when it runs, stops with an error that
    names the cause and the days the events span, before any model of the window is written: the
    marts keep their last good rows rather than being emptied.
-#}
{% test analysis_window_holds_data(model, events) %}
    {%- set failing_rows -%}
        select
            first_day,
            last_day,
            last_complete_day

        from {{ model }}

        where days_with_data = 0
    {%- endset -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query(failing_rows) -%}
        {%- if found.rows -%}
            {%- do netflow_pca._raise_empty_window(found.rows[0], events) -%}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{% endtest %}


{% macro _raise_empty_window(window, events) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set span = run_query(
        "select cast(min(cast(flow_local_at as date)) as text), cast(max(cast(flow_local_at as date)) as text), count(*)"
        ~ " from " ~ events
    ).rows[0] -%}
    {%- set spanned = "the events of " ~ netflow_pca.events_relation() ~ " span " ~ span[0] ~ " to " ~ span[1]
        ~ " (" ~ span[2] ~ " events, days in time zone " ~ run.timezone ~ ")" -%}
    {%- set kept = ". Nothing of the window was written: the counts, the PCA input and the marts keep the last good run's rows" -%}
    {%- if run.run_date -%}
        {{- exceptions.raise_compiler_error(
            "Invalid var run_date: the window of " ~ run.lookback_days ~ " days up to " ~ run.run_date
            ~ " (" ~ window[0] ~ " to " ~ window[1] ~ ") holds no events; " ~ spanned
            ~ ". Choose a run_date within those days" ~ kept) -}}
    {%- else -%}
        {{- exceptions.raise_compiler_error(
            "The time column " ~ run.time_column ~ " places every event after the last complete day, "
            ~ window[2] ~ " (time zone " ~ run.timezone ~ "): " ~ spanned
            ~ ". Times in epoch milliseconds or microseconds read as seconds land thousands of years ahead:"
            ~ " the column must hold epoch seconds, a timestamp or a date (check the var time_column)" ~ kept) -}}
    {%- endif -%}
{% endmacro %}
