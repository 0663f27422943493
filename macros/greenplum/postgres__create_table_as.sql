{#-
    dbt-postgres' create-table-as, plus Greenplum's DISTRIBUTED BY clause from the model's
    `distributed_by` config, added only where the server says it is Greenplum: without it a
    Greenplum table is distributed by its first column, which is rarely the right key.
-#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set distributed_by = config.get('distributed_by', none) -%}
    {%- set enforced = config.get('contract').enforced -%}
    {%- set create_sql = dbt.postgres__create_table_as(temporary, relation, sql) -%}
    {%- if distributed_by and not enforced and netflow_pca.is_greenplum() -%}
        {{ create_sql | trim | trim(';') }}
        distributed by (
            {%- for column in distributed_by %}{{ netflow_pca.quote_identifier(column) }}{{ ', ' if not loop.last }}{% endfor -%}
        );
    {%- else -%}
        {{ create_sql }}
    {%- endif -%}
{%- endmacro %}
