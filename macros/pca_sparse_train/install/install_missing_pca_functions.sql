{#- Installs the functions of the given languages that are missing or stale, where this role may;
    returns {language: reason it is unusable, or none when ready}. Runs in the caller's transaction
    and issues only statements that cannot fail on privileges, which it checks first. Only the
    administrator's operation (administrator=true) creates the extension and the schema. -#}
{% macro install_missing_pca_functions(languages, administrator=false) %}
    {%- set schema = netflow_pca.run_vars().pca_functions_schema -%}
    {%- set status = netflow_pca._pca_functions_status(schema) -%}
    {%- set wanted_names = netflow_pca.pca_function_definitions(schema) | selectattr('language', 'in', languages)
        | map(attribute='name') | list -%}
    {%- if wanted_names | reject('in', status.current) | list -%}
        {#- models fitted side by side must not install the same functions at once: the second
            waits for the first to commit, then finds them current. Keyed by the schema, since the
            lock lasts the model's whole transaction and must not hold up projects in other schemas.
            Only when a function of these languages is missing: the sql backend never installs
            the PL/Python ones, and waiting on their account serialised every model that asks
            for the backend behind the residual PCA's fit -#}
        {%- do run_query("select pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext("
            ~ netflow_pca.sql_string_literal('netflow_pca: install the PCA functions in ' ~ schema) ~ "))") -%}
        {%- set status = netflow_pca._pca_functions_status(schema) -%}
    {%- endif -%}
    {%- set result = {} -%}
    {%- for language in languages -%}
        {%- set wanted = netflow_pca.pca_function_definitions(schema) | selectattr('language', 'equalto', language) | list -%}
        {%- set stale = wanted | rejectattr('name', 'in', status.current) | list -%}
        {%- set problem = netflow_pca._pca_install_problem(language, stale, status, administrator) -%}
        {%- if problem is none and stale -%}
            {%- if language == 'plpython3u' and not status.has_plpython -%}
                {%- do run_query('create extension if not exists plpython3u') -%}
            {%- endif -%}
            {%- if not status.schema_exists -%}
                {%- do run_query('create schema if not exists ' ~ netflow_pca.quote_identifier(schema)) -%}
            {%- endif -%}
            {%- for definition in stale -%}
                {%- do run_query(definition.ddl) -%}
                {%- do netflow_pca._drop_replaced_pca_overloads(schema, definition) -%}
            {%- endfor -%}
            {%- do log('netflow_pca: installed the ' ~ language ~ ' functions of the PCA in schema ' ~ schema, info=true) -%}
        {%- elif problem is not none -%}
            {%- do log('netflow_pca: the ' ~ language ~ ' functions of the PCA are not installed: ' ~ problem, info=true) -%}
        {%- endif -%}
        {%- do result.update({language: problem}) -%}
    {%- endfor -%}
    {%- do return(result) -%}
{% endmacro %}


{#- Drops the functions of the same name that an earlier version installed with another signature
    (create or replace keeps them beside the new one, unused): those with a netflow_pca tag other
    than the new definition's, that this role owns; a function of that name the project did not
    install is left alone. -#}
{% macro _drop_replaced_pca_overloads(schema, definition) %}
    {%- for (signature,) in run_query(
        "select p.oid::pg_catalog.regprocedure::text from pg_catalog.pg_proc as p"
        ~ " join pg_catalog.pg_namespace as n on n.oid = p.pronamespace"
        ~ " where n.nspname = " ~ netflow_pca.sql_string_literal(schema)
        ~ " and p.proname = " ~ netflow_pca.sql_string_literal(definition.name)
        ~ " and pg_catalog.obj_description(p.oid, 'pg_proc') like 'netflow\\_pca %'"
        ~ " and pg_catalog.obj_description(p.oid, 'pg_proc') <> " ~ netflow_pca.sql_string_literal(definition.tag)
        ~ " and pg_catalog.pg_has_role(p.proowner, 'USAGE')"
    ).rows -%}
        {%- do run_query('drop function ' ~ signature) -%}
    {%- endfor -%}
{% endmacro %}


{#- Why this role cannot install the stale functions of a language, or none if it can (or none are stale). -#}
{% macro _pca_install_problem(language, stale, status, administrator) %}
    {%- set how = 'ask an administrator to run `dbt run-operation install_pca_functions`' -%}
    {%- if not stale -%}
        {%- do return(none) -%}
    {%- elif not status.schema_exists and not administrator -%}
        {%- do return('missing, and schema ' ~ status.schema ~ ' (the var pca_functions_schema) does not exist; ' ~ how) -%}
    {%- elif not status.may_create_in_schema -%}
        {%- do return('missing or from another version, and this role may not create functions in schema '
            ~ status.schema ~ '; ' ~ how) -%}
    {%- elif stale | selectattr('name', 'in', status.owned_by_others) | list -%}
        {%- do return('missing or from another version, and owned by another role; ' ~ how) -%}
    {%- elif language == 'plpython3u' and not status.has_plpython and not status.plpython_available -%}
        {%- do return('PL/Python (plpython3u) is not available on this server') -%}
    {%- elif language == 'plpython3u' and not status.is_superuser -%}
        {%- do return('plpython3u is an untrusted language: only a superuser can create its functions; ' ~ how) -%}
    {%- elif language == 'plpython3u' and not status.has_plpython and not administrator -%}
        {%- do return('the extension plpython3u is not created in this database; ' ~ how) -%}
    {%- endif -%}
    {%- do return(none) -%}
{% endmacro %}


{#- What the catalog says about the functions schema, the installed functions and this role. -#}
{% macro _pca_functions_status(schema) %}
    {%- set literal = netflow_pca.sql_string_literal(schema) -%}
    {%- set facts = run_query(
        "select"
        ~ " exists (select from pg_catalog.pg_language where lanname = 'plpython3u'),"
        ~ " exists (select from pg_catalog.pg_available_extensions where name = 'plpython3u'),"
        ~ " (select rolsuper from pg_catalog.pg_roles where rolname = current_user),"
        ~ " exists (select from pg_catalog.pg_namespace where nspname = " ~ literal ~ ")"
    ).rows[0] -%}
    {%- set may_create = run_query(
        "select pg_catalog.has_schema_privilege(" ~ literal ~ ", 'CREATE')" if facts[3]
        else "select pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')"
    ).rows[0][0] -%}
    {%- set current = [] -%}
    {%- set owned_by_others = [] -%}
    {%- set tags = {} -%}
    {%- for definition in netflow_pca.pca_function_definitions(schema) -%}
        {%- do tags.update({definition.name: definition.tag}) -%}
    {%- endfor -%}
    {%- for name, comment, owned in run_query(
        "select p.proname::text, pg_catalog.obj_description(p.oid, 'pg_proc'), pg_catalog.pg_has_role(p.proowner, 'USAGE')"
        ~ " from pg_catalog.pg_proc as p join pg_catalog.pg_namespace as n on n.oid = p.pronamespace"
        ~ " where n.nspname = " ~ literal ~ " and p.proname like 'pca%'"
    ).rows if name in tags -%}
        {%- if comment == tags[name] -%}
            {%- do current.append(name) -%}
        {%- elif not owned -%}
            {%- do owned_by_others.append(name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return({
        'schema': schema,
        'has_plpython': facts[0],
        'plpython_available': facts[1],
        'is_superuser': facts[2],
        'schema_exists': facts[3],
        'may_create_in_schema': may_create,
        'current': current,
        'owned_by_others': owned_by_others,
    }) -%}
{% endmacro %}
