{#-
    The statement that creates an incremental model's table when dbt found none at the start of
    the model (its incremental materialization then creates the table in place). Runs of
    different hours on a schema never built would all create it (the hour-partitioned models,
    pipeline_runs), and all but the first fail with `relation ... already exists`. So, inside the
    model's transaction: wait for, then hold until commit, an advisory lock on the table's
    creation, and look again; if another run created the table meanwhile, add this run's rows to
    it instead, as the model's strategy does: replace_hours deletes this run's hours first (the
    model's SQL, compiled for a table that did not exist, holds every row of its hours, so the
    delete takes them all, without incremental predicates), and so does replace_flags (the
    history: another run's hours hold none of this run's flags); append only inserts.
-#}
{% macro create_incremental_table_sql(relation, sql, create_sql) %}
    {%- set strategy = config.get('incremental_strategy') -%}
    {%- if strategy not in ('replace_hours', 'replace_flags', 'append') -%}
        {%- do return(create_sql) -%}
    {%- endif -%}
    {%- call statement('lock_table_creation') -%}
        select pg_advisory_xact_lock(hashtext({{ netflow_pca.sql_string_literal('create ' ~ relation) }}))
    {%- endcall -%}
    {%- set found = run_query(
        "select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        ~ " where n.nspname = " ~ netflow_pca.sql_string_literal(relation.schema)
        ~ " and c.relname = " ~ netflow_pca.sql_string_literal(relation.identifier)
    ).columns[0].values()[0] -%}
    {%- if found == 0 -%}
        {%- do return(create_sql) -%}
    {%- endif -%}
    {%- do log(relation ~ " was created by another run meanwhile: this run adds its rows to it") -%}
    {%- set add_rows -%}
        {%- if strategy in ('replace_hours', 'replace_flags') %}
        delete from {{ relation }}
        where {{ netflow_pca.hour_filter('hour_of_day') }};
        {%- endif %}

        insert into {{ relation }}
        select * from (
            {{ sql }}
        ) as new_rows;
    {%- endset -%}
    {%- do return(add_rows) -%}
{% endmacro %}
