{#- A statement that sets a server setting for the transaction only where the server knows it (a
    select over pg_settings: on a server without it, as older PostgreSQL or Greenplum may be, it
    sets nothing instead of failing). -#}
{% macro set_local_where_known(name, value) %}
    {%- do return('select set_config(name, ' ~ netflow_pca.sql_string_literal(value) ~ ', true) from pg_settings where name = '
        ~ netflow_pca.sql_string_literal(name)) -%}
{% endmacro %}
