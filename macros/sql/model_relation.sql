{#-
    A model's relation, looked up in the graph by its name: for a hook that reads a model its own
    model does not ref (ref() there is refused at run time), one that the DAG builds before it.
-#}
{% macro model_relation(name) %}
    {%- set node = graph.nodes['model.netflow_pca.' ~ name] -%}
    {%- do return(api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias)) -%}
{% endmacro %}
