{#-
    The on-run-start hook: repeats the parse-time checks of run_vars and adds the ones that need
    the server, so that a bad var stops the run before any node writes: the time zone must be one
    PostgreSQL knows, and the events table must exist with the columns the vars name (unless it
    is the sample seed, which this run is about to load).
-#}
{% macro validate_run_vars() %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if execute -%}
        {%- set known = run_query(
            "select count(*) from pg_catalog.pg_timezone_names where name = "
            ~ netflow_pca.sql_string_literal(run.timezone)
        ).columns[0].values()[0] -%}
        {%- if known == 0 -%}
            {{- netflow_pca.invalid_var('timezone', run.timezone,
                'a time zone name PostgreSQL knows (see pg_timezone_names)') -}}
        {%- endif -%}
        {%- set events = netflow_pca.events_relation() -%}
        {%- set is_unloaded_seed = run.events_table == 'sample_flows' and run.events_schema == target.schema
            and adapter.get_relation(events.database, events.schema, events.identifier) is none -%}
        {%- if not is_unloaded_seed -%}
            {%- do netflow_pca.events_column('user_column') -%}
            {%- do netflow_pca.event_time_to_timestamptz(netflow_pca.events_column('time_column')) -%}
        {%- endif -%}
        {%- do log("netflow_pca: hours " ~ (run.hour_id if run.hour_id is not none else '0-23')
            ~ ", run_date " ~ (run.run_date or 'latest') ~ ", lookback_days " ~ run.lookback_days, info=true) -%}
    {%- endif -%}
    select 1 as vars_validated
{% endmacro %}
