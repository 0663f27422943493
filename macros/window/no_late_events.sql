{#-
    Warns when the run's window (int_analysis_window) leaves out late or bad events, after its
    last day (without run_date: today's, a future day's, a stray day's beyond the data's bulk),
    and, when it runs, names how many and their days in dbt's output, where the runner shows it.
    Declared with severity warn: such events are expected every day (today's), and are counted
    when their day is complete.
-#}
{% test no_late_events(model) %}
    {%- set failing_rows -%}
        select
            late_events,
            cast(first_late_day as text) as first_late_day,
            cast(last_late_day as text) as last_late_day

        from {{ model }}

        where late_events > 0
    {%- endset -%}
    {%- if execute and flags.WHICH in ('build', 'test') -%}
        {%- set found = run_query(failing_rows) -%}
        {%- if found.rows -%}
            {%- set events, first_day, last_day = found.rows[0] -%}
            {%- do exceptions.warn(
                "netflow_pca: " ~ events ~ " events after the window's last day, from " ~ first_day ~ " to " ~ last_day
                ~ ", are left out as late or bad data (pipeline_runs.late_events): today's count once the day is"
                ~ " complete; a day far ahead or beyond the data's bulk is a bad row (a clock gone wrong, a time in"
                ~ " milliseconds)") -%}
        {%- endif -%}
    {%- endif -%}
    {{ failing_rows }}
{% endtest %}
