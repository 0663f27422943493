{#-
    Creates the functions of the plpython and sql backends in the schema the var
    pca_functions_schema names (default: the target schema), for an administrator to run once:
    `dbt run-operation install_pca_functions`. PL/Python functions need a superuser (plpython3u is
    an untrusted language); the PL/pgSQL ones need only CREATE on the schema. Only this operation
    creates the plpython3u extension and the functions schema: a run uses what is there, so no
    var can make it create a schema or an extension. What cannot be installed is reported, not
    failed; the run then uses what is there.
-#}
{% macro install_pca_functions() %}
    {%- do netflow_pca.pca_operation_transaction('begin') -%}
    {%- set installed = netflow_pca.install_missing_pca_functions(['plpgsql', 'plpython3u'], administrator=true) -%}
    {%- do netflow_pca.pca_operation_transaction('commit') -%}
    {%- do return(installed) -%}
{% endmacro %}
