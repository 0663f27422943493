{#-
    The body of the shared_view and shared_table materializations, for a model that every
    invocation builds whatever hours it runs, so that runs side by side never race on it and
    most runs find it as it should be. In one transaction, under an advisory lock on the
    relation: create the candidate; if the existing relation is of the same kind and the same
    (a view: the same definition, as pg_get_viewdef normalises it; a table: the same columns and
    rows), drop the candidate and leave the relation untouched, so a run never waits for another
    run's readers of it; otherwise drop the existing relation and rename the candidate in its
    place. dbt's own view and table materializations drop their backup relation outside their
    transaction, before and after it, so two runs at once collide on `__dbt_backup`; here there is
    no step outside the transaction, and a run that waited for the lock sees what the other left.
-#}
{% macro build_shared_relation(relation_type) %}
    {%- set target_relation = this.incorporate(type=relation_type) -%}
    {%- set candidate_relation = make_intermediate_relation(target_relation) -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- call statement('lock_shared_relation') -%}
        select pg_advisory_xact_lock(hashtext({{ netflow_pca.sql_string_literal(target_relation | string) }}))
    {%- endcall %}
    {%- do adapter.drop_relation(candidate_relation) -%}

    {% call statement('main') -%}
        {%- if relation_type == 'view' -%}
            {{ get_create_view_as_sql(candidate_relation, sql) }}
        {%- else -%}
            {{ get_create_table_as_sql(False, candidate_relation, sql) }}
        {%- endif -%}
    {%- endcall %}

    {%- set existing = netflow_pca._existing_shared_relation(target_relation, candidate_relation) -%}
    {%- if existing.unchanged -%}
        {%- do adapter.drop_relation(candidate_relation) -%}
        {%- do log(relation_type ~ " " ~ target_relation ~ " is unchanged: left as it is") -%}
    {%- else -%}
        {%- if existing.type is not none -%}
            {%- do adapter.drop_relation(target_relation.incorporate(type=existing.type)) -%}
        {%- endif -%}
        {%- do adapter.rename_relation(candidate_relation, target_relation) -%}
    {%- endif -%}

    {#- an unchanged relation keeps its grants, so revoke what the config no longer grants; a new one has none #}
    {%- do apply_grants(target_relation, grant_config, should_revoke=existing.unchanged) -%}
    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{- adapter.commit() -}}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {%- do return({'relations': [target_relation]}) -%}
{% endmacro %}


{#- What the target name holds now, read from the catalog (dbt's cache is as old as the
    invocation, and another run may have changed it since): its type as dbt names it, or none,
    and whether it equals the candidate. -#}
{% macro _existing_shared_relation(target_relation, candidate_relation) %}
    {%- set types = {'v': 'view', 'r': 'table', 'p': 'table', 'm': 'materialized_view'} -%}
    {%- set found = run_query(
        "select c.relkind from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        ~ " where n.nspname = " ~ netflow_pca.sql_string_literal(target_relation.schema)
        ~ " and c.relname = " ~ netflow_pca.sql_string_literal(target_relation.identifier)
    ) -%}
    {%- if found.rows | length == 0 -%}
        {%- do return({'type': none, 'unchanged': false}) -%}
    {%- endif -%}
    {%- set relkind = found.rows[0][0] -%}
    {%- if relkind not in types -%}
        {{- exceptions.raise_compiler_error(
            target_relation ~ " exists and is not a table or view (pg_class.relkind '" ~ relkind
            ~ "'): dbt did not build it; drop or rename it") -}}
    {%- endif -%}
    {%- if types[relkind] != candidate_relation.type -%}
        {%- do return({'type': types[relkind], 'unchanged': false}) -%}
    {%- endif -%}
    {%- if candidate_relation.type == 'view' -%}
        {%- set same = "select pg_get_viewdef(" ~ netflow_pca._regclass(target_relation) ~ ") = pg_get_viewdef("
            ~ netflow_pca._regclass(candidate_relation) ~ ")" -%}
    {%- else -%}
        {%- set same = "select (" ~ netflow_pca._table_digest_sql(target_relation) ~ ") = ("
            ~ netflow_pca._table_digest_sql(candidate_relation) ~ ")" -%}
    {%- endif -%}
    {%- do return({'type': types[relkind], 'unchanged': run_query(same).rows[0][0]}) -%}
{% endmacro %}


{% macro _regclass(relation) %}
    {%- do return(netflow_pca.sql_string_literal(relation.include(database=false) | string) ~ "::regclass") -%}
{% endmacro %}


{#- The columns (names and types, in order) and the rows of a table, as one digest. -#}
{% macro _table_digest_sql(relation) %}
    select md5(
        (select string_agg(quote_ident(attname) || ' ' || format_type(atttypid, atttypmod), ', ' order by attnum)
         from pg_catalog.pg_attribute
         where attrelid = {{ netflow_pca._regclass(relation) }} and attnum > 0 and not attisdropped)
        || ':' || coalesce(string_agg(row_text, E'\n' order by row_text), '')
    )
    from (select cast(t as text) as row_text from {{ relation }} as t) as table_rows
{%- endmacro %}
