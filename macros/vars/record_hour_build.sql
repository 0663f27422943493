{#-
    A post-hook of the hour-partitioned models (hour_partitioned_config): for a relation that
    runs read across hours (hour_builds), replaces the record of the hours this run builds with
    what it builds them for, in the transaction that writes their rows, so that the record never
    says more than the rows hold. Creates hour_builds on first use, one run at a time.
-#}
{% macro record_hour_build(relation) %}
    {%- if not execute -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set names = netflow_pca._recorded_relations().get(relation.identifier) -%}
    {%- if names is none -%}
        {%- do return('') -%}
    {%- endif -%}
    {%- set records = netflow_pca.hour_builds_relation() -%}
    {%- set relation_name = netflow_pca.sql_string_literal(relation.identifier) -%}
    {%- if not netflow_pca.relation_exists(records) %}
    select pg_advisory_xact_lock(hashtext({{ netflow_pca.sql_string_literal(records | string) }}));
    create table if not exists {{ records }} (
        relation_name text not null,
        hour_of_day integer not null,
        built_for jsonb not null,
        invocation_id text not null,
        built_at timestamptz not null
    ){{ netflow_pca.greenplum_distribution(replicated=true) }};
    {%- endif %}
    delete from {{ records }}
    where relation_name = {{ relation_name }}
        and {{ netflow_pca.hour_filter('hour_of_day') }};
    insert into {{ records }} (relation_name, hour_of_day, built_for, invocation_id, built_at)
    select
        {{ relation_name }},
        hours.hour_of_day,
        this_run.built_for,
        {{ netflow_pca.sql_string_literal(invocation_id) }},
        now()
    from unnest(array[{{ netflow_pca.selected_hours() | join(', ') }}]) as hours (hour_of_day)
    cross join ({{ netflow_pca.hour_build_parameters(names) }}) as this_run
{%- endmacro %}


{#- Every relation a route reads across hours, with what its rows depend on. -#}
{% macro _recorded_relations() %}
    {%- set relations = {} -%}
    {%- do relations.update(netflow_pca.hours_read_across('numpy')) -%}
    {%- do relations.update(netflow_pca.hours_read_across('sql')) -%}
    {%- do return(relations) -%}
{% endmacro %}
