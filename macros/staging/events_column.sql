{#-
    The column of the events table that a var (user_column, time_column) names, looked up in the
    catalog so that only a name that really exists reaches SQL. Returns none while dbt parses.
-#}
{% macro events_column(var_name) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set events = netflow_pca.events_relation() -%}
    {%- set existing = adapter.get_relation(events.database, events.schema, events.identifier) -%}
    {%- if existing is none -%}
        {{- exceptions.raise_compiler_error(
            "The events table " ~ events ~ " does not exist: check the vars events_schema ('"
            ~ run.events_schema ~ "') and events_table ('" ~ run.events_table ~ "')") -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(existing) -%}
    {%- for column in columns if column.name == run[var_name] -%}
        {%- do return(column) -%}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error(
        "Invalid var " ~ var_name ~ ": '" ~ run[var_name] ~ "' is not a column of " ~ existing
        ~ "; its columns are " ~ columns | map(attribute='name') | join(', ')) -}}
{% endmacro %}
