{#-
    The database functions the plpython and sql backends call, as a list of
    {name, language, tag, ddl} in the order to create them. Each DDL is complete: create or
    replace, then a comment holding the tag, a digest of the definition, by which a run tells an
    installed function of this version from a stale one. They are installed once by an administrator
    (`dbt run-operation install_pca_functions`), or by the run itself when it may.
-#}
{% macro pca_function_definitions(schema) %}
    {%- set quoted_schema = netflow_pca.quote_identifier(schema) -%}
    {%- set definitions = [] -%}
    {%- for name, language, signature, body in [
        ('pca_symmetric_eigenvalues', 'plpgsql', '(matrix double precision[])', netflow_pca.pca_symmetric_eigenvalues_source()),
        ('pca_symmetric_eigenvectors', 'plpgsql', '(reduced double precision[], eigenvalues double precision[], wanted integer)',
            netflow_pca.pca_symmetric_eigenvectors_source()),
        ('pca_dense_vector', 'plpgsql', '(short_ids integer[], vals double precision[], m integer)',
            netflow_pca.pca_dense_vector_source()),
        ('pca_numpy_version', 'plpython3u', '()', netflow_pca.pca_numpy_version_source()),
        ('pca_fit_numpy', 'plpython3u', '(cells text, vals text, row_dim integer, col_dim integer,'
            ~ ' components integer, variance double precision)',
            netflow_pca.pca_fit_numpy_source()),
        ('pca_residual_scores_numpy', 'plpython3u', '(user_names text[], user_cells bytea[], names_in_order text[],'
            ~ ' first_day integer, row_hours integer[], hour_days bytea[], scored_hours integer[],'
            ~ ' min_active_days integer, damp_at double precision, collective_share double precision,'
            ~ ' collective_min_users integer, max_extreme_days integer, max_components integer,'
            ~ ' run_at double precision, max_run_days integer)',
            netflow_pca.residual_scores_numpy_source()),
    ] -%}
        {%- set create = 'create or replace function ' ~ quoted_schema ~ '.' ~ name ~ signature ~ '\n' ~ body -%}
        {%- set tag = 'netflow_pca ' ~ local_md5(create) -%}
        {%- set comment = 'comment on function ' ~ quoted_schema ~ '.' ~ name ~ signature ~ ' is '
            ~ netflow_pca.sql_string_literal(tag) -%}
        {%- do definitions.append({'name': name, 'language': language, 'tag': tag, 'ddl': create ~ ';\n' ~ comment}) -%}
    {%- endfor -%}
    {%- do return(definitions) -%}
{% endmacro %}
