{#-
    The statement that creates an hour-partitioned model's table when dbt found none at the start
    of the model (its incremental materialization then creates the table in place). Runs of
    different hours on a schema never built would all create it, and all but the first fail with
    `relation ... already exists`. So, inside the model's transaction: wait for, then hold until
    commit, an advisory lock on the table's creation, and look again; if another run created the
    table meanwhile, replace this run's hours in it (delete them, insert the rows) instead. The
    model's SQL was compiled for a table that did not exist, so it holds every row of its hours,
    and the delete takes them all (no incremental predicates).
-#}
{% macro create_hour_partitioned_table_sql(relation, sql, create_sql) %}
    {%- call statement('lock_table_creation') -%}
        select pg_advisory_xact_lock(hashtext({{ netflow_pca.sql_string_literal('create ' ~ relation) }}))
    {%- endcall -%}
    {%- set found = run_query(
        "select count(*) from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        ~ " where n.nspname = " ~ netflow_pca.sql_string_literal(relation.schema)
        ~ " and c.relname = " ~ netflow_pca.sql_string_literal(relation.identifier)
    ).columns[0].values()[0] -%}
    {%- if found == 0 -%}
        {{ create_sql }}
    {%- else -%}
        {%- do log(relation ~ " was created by another run meanwhile: this run replaces its hours in it") -%}
        delete from {{ relation }}
        where {{ netflow_pca.hour_filter('hour_of_day') }};

        insert into {{ relation }}
        select * from (
            {{ sql }}
        ) as hours_rows;
    {%- endif -%}
{% endmacro %}
