{#-
    Whether the relation exists now, read from the catalog: dbt's cache is as old as the
    invocation, and another run, or a hook of this one, may have created it since.
-#}
{% macro relation_exists(relation) %}
    {%- do return(run_query(
        "select to_regclass(" ~ netflow_pca.sql_string_literal(relation.include(database=false) | string) ~ ") is not null"
    ).columns[0].values()[0]) -%}
{% endmacro %}
