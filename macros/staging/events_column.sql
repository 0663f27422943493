{#-
    The column of the events table that a var (user_column, time_column) names, after checking in
    pg_catalog that the role can read it, so that only a name that really exists reaches SQL and
    a missing right is named as such. information_schema would not do: it hides the columns the
    role may not read and leaves out materialised views. Returns none while dbt parses.
-#}
{% macro events_column(var_name) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if not execute -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- set events = netflow_pca.events_relation() -%}
    {%- set found = netflow_pca._events_catalog(events) -%}
    {%- set first = found.rows[0] if found.rows else none -%}
    {%- if first is none or first['relkind'] is none -%}
        {{- exceptions.raise_compiler_error(
            "The events table " ~ events ~ " does not exist"
            ~ ("" if first is not none else " (there is no schema " ~ events.schema ~ ")")
            ~ ": check the vars events_schema ('" ~ run.events_schema ~ "') and events_table ('" ~ run.events_table ~ "')") -}}
    {%- endif -%}
    {%- set role = first['role'] -%}
    {%- if not first['schema_usable'] -%}
        {{- exceptions.raise_compiler_error(
            "The role " ~ role ~ " has no USAGE on schema " ~ events.schema ~ ", which holds the events table "
            ~ events ~ ": grant usage on schema " ~ netflow_pca.quote_identifier(events.schema) ~ " to " ~ netflow_pca.quote_identifier(role)) -}}
    {%- endif -%}
    {%- if first['relkind'] not in ('r', 'p', 'v', 'm', 'f') -%}
        {{- exceptions.raise_compiler_error(
            "The events table " ~ events ~ " is a " ~ first['kind_name']
            ~ ", not a table, a view, a materialised view or a foreign table: check the var events_table") -}}
    {%- endif -%}
    {%- set columns, readable = [], [] -%}
    {%- for column in found.rows -%}
        {%- do columns.append(column['column_name']) -%}
        {%- if column['column_readable'] -%}
            {%- do readable.append(column['column_name']) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set grant_on = events.include(database=false) -%}
    {%- for column in found.rows if column['column_name'] == run[var_name] -%}
        {%- if not readable -%}
            {{- exceptions.raise_compiler_error(
                "The role " ~ role ~ " has no SELECT on the events table " ~ events
                ~ ": grant select on " ~ grant_on ~ " to " ~ netflow_pca.quote_identifier(role)) -}}
        {%- elif not column['column_readable'] -%}
            {{- exceptions.raise_compiler_error(
                "The role " ~ role ~ " may not read column " ~ column['column_name'] ~ " of the events table " ~ events
                ~ " (its column grants cover only " ~ readable | join(', ') ~ "): grant select ("
                ~ netflow_pca.quote_identifier(column['column_name']) ~ ") on " ~ grant_on ~ " to " ~ netflow_pca.quote_identifier(role)) -}}
        {%- endif -%}
        {%- do return(api.Column.create(column['column_name'], column['data_type'])) -%}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error(
        "Invalid var " ~ var_name ~ ": '" ~ run[var_name] ~ "' is not a column of " ~ events
        ~ "; its columns are " ~ columns | join(', ')) -}}
{% endmacro %}


{#- One row per column of the events table (or one row of nulls when the schema exists but the
    table does not, none when the schema does not): the role's rights on the schema, the table and
    each column, the relation's kind, each column's type (a domain's base type). -#}
{% macro _events_catalog(events) %}
    {%- do return(run_query("
        select
            current_user as role,
            has_schema_privilege(n.oid, 'USAGE') as schema_usable,
            c.relkind,
            case c.relkind
                when 'S' then 'sequence' when 'i' then 'index' when 'I' then 'partitioned index'
                when 'c' then 'composite type' when 't' then 'TOAST table' else 'relation'
            end as kind_name,
            a.attname as column_name,
            format_type(case when t.typtype = 'd' then t.typbasetype else t.oid end, null) as data_type,
            has_column_privilege(c.oid, a.attnum, 'SELECT') as column_readable
        from pg_catalog.pg_namespace as n
        left join pg_catalog.pg_class as c
            on c.relnamespace = n.oid and c.relname = " ~ netflow_pca.sql_string_literal(events.identifier) ~ "
        left join pg_catalog.pg_attribute as a
            on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
        left join pg_catalog.pg_type as t
            on t.oid = a.atttypid
        where n.nspname = " ~ netflow_pca.sql_string_literal(events.schema) ~ "
        order by a.attnum
    ")) -%}
{% endmacro %}
