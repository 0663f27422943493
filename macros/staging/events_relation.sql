{#- The events table the vars events_schema and events_table name (the source flows.events). -#}
{% macro events_relation() %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- do return(api.Relation.create(
        database=target.database, schema=run.events_schema, identifier=run.events_table)) -%}
{% endmacro %}
