{#-
    A view that every invocation builds, whatever hours it runs (the staging models): runs side
    by side must not race on it, and most runs find it as it should be. So, in one transaction,
    under an advisory lock on the view: create the candidate view, and if the existing view has
    the same definition (pg_get_viewdef of both, as the server normalises them), drop the
    candidate and leave the view untouched; otherwise drop the existing relation and rename the
    candidate in its place. dbt's own view materialization drops its backup relation outside its
    transaction, before and after it, so two runs at once collide on `__dbt_backup`; here there is
    no step outside the transaction, and a run that waited for the lock sees the view the other
    one left.
-#}
{%- materialization shared_view, default -%}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set candidate_relation = make_intermediate_relation(target_relation) -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {%- call statement('lock_shared_view') -%}
        select pg_advisory_xact_lock(hashtext({{ netflow_pca.sql_string_literal(target_relation | string) }}))
    {%- endcall %}
    {%- do adapter.drop_relation(candidate_relation) -%}

    {% call statement('main') -%}
        {{ get_create_view_as_sql(candidate_relation, sql) }}
    {%- endcall %}

    {%- set existing = netflow_pca._existing_relation_kind(target_relation, candidate_relation) -%}
    {%- if existing.unchanged -%}
        {%- do adapter.drop_relation(candidate_relation) -%}
        {%- do log("shared_view " ~ target_relation ~ ": unchanged, left as it is") -%}
    {%- else -%}
        {%- if existing.kind is not none -%}
            {%- do adapter.drop_relation(target_relation.incorporate(type=existing.kind)) -%}
        {%- endif -%}
        {%- do adapter.rename_relation(candidate_relation, target_relation) -%}
    {%- endif -%}

    {#- an unchanged view keeps its grants, so revoke what the config no longer grants; a new one has none #}
    {%- do apply_grants(target_relation, grant_config, should_revoke=existing.unchanged) -%}
    {%- do persist_docs(target_relation, model) -%}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{- adapter.commit() -}}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {{ return({'relations': [target_relation]}) }}
{%- endmaterialization -%}


{#- What the target name holds now, read from the catalog (dbt's cache is as old as the
    invocation, and another run may have changed it since): its kind as dbt names it, or none, and
    whether it is a view defined exactly as the candidate. -#}
{% macro _existing_relation_kind(target_relation, candidate_relation) %}
    {%- set kinds = {'v': 'view', 'r': 'table', 'p': 'table', 'm': 'materialized_view'} -%}
    {%- set found = run_query(
        "select c.relkind, c.relkind = 'v' and pg_get_viewdef(c.oid) = ("
        ~ netflow_pca._view_definition_sql(candidate_relation) ~ ") as unchanged"
        ~ " from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace"
        ~ " where n.nspname = " ~ netflow_pca.sql_string_literal(target_relation.schema)
        ~ " and c.relname = " ~ netflow_pca.sql_string_literal(target_relation.identifier)
    ) -%}
    {%- if found.rows | length == 0 -%}
        {%- do return({'kind': none, 'unchanged': false}) -%}
    {%- endif -%}
    {%- set relkind, unchanged = found.rows[0][0], found.rows[0][1] -%}
    {%- if relkind not in kinds -%}
        {{- exceptions.raise_compiler_error(
            target_relation ~ " exists and is not a table or view (pg_class.relkind '" ~ relkind
            ~ "'): dbt did not build it; drop or rename it") -}}
    {%- endif -%}
    {%- do return({'kind': kinds[relkind], 'unchanged': unchanged}) -%}
{% endmacro %}


{% macro _view_definition_sql(relation) %}
    select pg_get_viewdef(c.oid)
    from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where n.nspname = {{ netflow_pca.sql_string_literal(relation.schema) }}
        and c.relname = {{ netflow_pca.sql_string_literal(relation.identifier) }}
{%- endmacro %}
