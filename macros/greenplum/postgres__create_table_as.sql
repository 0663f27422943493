{#-
    dbt-postgres' create-table-as, plus Greenplum's distribution clause from the model's config,
    added only where the server says it is Greenplum: `distributed_by` (a list of columns) gives
    `distributed by (...)`, `distributed_replicated: true` gives `distributed replicated`. Without
    either a Greenplum table is distributed by its first column, which is rarely the right key, so
    every table model of this project sets one (docs/greenplum.md; a test checks it). The table
    of an incremental model is created through create_incremental_table_sql, so that runs of
    different hours can create it at once.
-#}
{% macro postgres__create_table_as(temporary, relation, sql) -%}
    {%- set distributed_by = config.get('distributed_by', none) -%}
    {%- set replicated = config.get('distributed_replicated', false) -%}
    {%- if distributed_by and replicated -%}
        {{- exceptions.raise_compiler_error('netflow_pca: ' ~ relation ~ ' sets both distributed_by and distributed_replicated') -}}
    {%- endif -%}
    {%- set columns = [] -%}
    {%- for column in distributed_by or [] -%}
        {%- do columns.append(netflow_pca.quote_identifier(column)) -%}
    {%- endfor -%}
    {%- set clause = netflow_pca.greenplum_distribution(columns, replicated)
        if (columns or replicated) and not config.get('contract').enforced else '' -%}
    {%- set create_sql = dbt.postgres__create_table_as(temporary, relation, sql) -%}
    {%- if clause -%}
        {%- set create_sql = (create_sql | trim | trim(';')) ~ '\n' ~ clause ~ ';' -%}
    {%- endif -%}
    {#- an incremental model's own table, which runs of different hours may create at once -#}
    {%- if not temporary and config.get('materialized') == 'incremental'
            and relation.identifier == this.identifier and relation.schema == this.schema -%}
        {{ netflow_pca.create_incremental_table_sql(relation, sql, create_sql) }}
    {%- else -%}
        {{ create_sql }}
    {%- endif -%}
{%- endmacro %}
