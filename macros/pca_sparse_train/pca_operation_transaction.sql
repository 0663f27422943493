{#-
    Begins or commits the transaction of a macro run as `dbt run-operation`; does nothing when the
    macro runs inside a model, whose materialization owns the transaction. dbt-postgres sends no
    BEGIN of its own, and after the COMMIT that run-operation issues first, psycopg2 opens no new
    transaction either, so without this each statement of an operation would commit by itself and
    a failure would leave its work half done.
-#}
{% macro pca_operation_transaction(action) %}
    {%- if model.resource_type == 'macro' -%}
        {%- do run_query(action) -%}
    {%- endif -%}
{% endmacro %}
