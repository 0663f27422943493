{#-
    Greenplum's distribution clause for a table this statement creates, to append to its CREATE
    TABLE: `distributed by (...)` over `columns` (SQL expressions of column names, already
    quoted), `distributed replicated`, or `distributed randomly` when neither is given. Empty
    where the server is not Greenplum, whose default (the first column) it replaces.
-#}
{% macro greenplum_distribution(columns=none, replicated=false) %}
    {%- if not netflow_pca.is_greenplum() -%}
        {%- do return('') -%}
    {%- elif replicated -%}
        {%- do return(' distributed replicated') -%}
    {%- elif columns -%}
        {%- do return(' distributed by (' ~ columns | join(', ') ~ ')') -%}
    {%- endif -%}
    {%- do return(' distributed randomly') -%}
{% endmacro %}
