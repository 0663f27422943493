{#- True when the server says it is Greenplum (or Apache Cloudberry, which keeps the name). -#}
{% macro is_greenplum() %}
    {%- if not execute -%}
        {%- do return(false) -%}
    {%- endif -%}
    {%- set server_version = run_query('select version()').columns[0].values()[0] -%}
    {%- do return('Greenplum Database' in server_version) -%}
{% endmacro %}
