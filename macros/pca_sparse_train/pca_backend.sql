{#-
    The PCA backend to run, from the var pca_backend: madlib, plpython or sql, or auto for the
    first of them that works here, fastest first: plpython if the PL/Python functions are
    installed (or this role may install them) and numpy imports inside PL/Python, else sql if its
    PL/pgSQL functions are (or may be), else madlib if the schema the var madlib_schema names has
    pca_sparse_train. With equal results, MADlib 2.1.0 took 27 times plpython's time and 4 to 5
    times sql's on the same matrices (README, "The PCA"). A backend asked for by name that cannot
    run stops the run with the reason. Returns {name, reason}.
-#}
{% macro pca_backend(requested) %}
    {%- set unavailable = [] -%}
    {%- for name in (['plpython', 'sql', 'madlib'] if requested == 'auto' else [requested]) -%}
        {%- set problem = netflow_pca._pca_backend_problem(name) -%}
        {%- if problem is none -%}
            {%- do return({'name': name, 'reason': 'pca_backend ' ~ requested
                ~ (' (' ~ unavailable | join('; ') ~ ')' if unavailable else '')}) -%}
        {%- endif -%}
        {%- do unavailable.append(name ~ ': ' ~ problem) -%}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error('netflow_pca: the PCA backend ' ~ requested ~ ' cannot run here: '
        ~ unavailable | join('; ')) -}}
{% endmacro %}


{#- Why a backend cannot run here, or none when it can. -#}
{% macro _pca_backend_problem(name) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if name == 'madlib' -%}
        {%- set found = run_query(
            "select count(*) from pg_catalog.pg_proc as p join pg_catalog.pg_namespace as n on n.oid = p.pronamespace"
            ~ " where n.nspname = " ~ netflow_pca.sql_string_literal(run.madlib_schema) ~ " and p.proname = 'pca_sparse_train'"
        ).rows[0][0] -%}
        {%- do return(none if found > 0 else 'no function pca_sparse_train in schema ' ~ run.madlib_schema) -%}
    {%- elif name == 'plpython' -%}
        {%- set problem = netflow_pca.install_missing_pca_functions(['plpython3u'])['plpython3u'] -%}
        {%- if problem is not none -%}
            {%- do return(problem) -%}
        {%- endif -%}
        {%- set numpy = run_query(
            'select ' ~ netflow_pca.quote_identifier(run.pca_functions_schema) ~ '.pca_numpy_version()').rows[0][0] -%}
        {%- do return(none if numpy is not none else 'numpy does not import inside PL/Python') -%}
    {%- endif -%}
    {%- do return(netflow_pca.install_missing_pca_functions(['plpgsql'])['plpgsql']) -%}
{% endmacro %}
