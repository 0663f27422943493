{#-
    The table hour_builds, in the target schema: the record of what each hour of the relations
    read across hours (hours_read_across) was built for (record_hour_build). A run
    of some hours scores them against its users' other hours as stored, which equals a run of
    all hours only where those hours were built for the same window and parameters.
-#}
{% macro hour_builds_relation() %}
    {%- do return(api.Relation.create(database=target.database, schema=target.schema, identifier='hour_builds')) -%}
{% endmacro %}
