{#-
    Config for a model whose rows are partitioned by hour_of_day: a run for all hours rebuilds the
    table (dbt's create-and-swap), a run for one hour replaces that hour's rows in one transaction
    and leaves the other hours as they were (the replace_hours strategy). A one-hour run refuses
    --full-refresh, which would drop the other hours. Runs building the same hour take turns. A
    run of some hours goes on only where the other hours that its scoring reads were built for
    its window and parameters (check_other_hours_built, record_hour_build).
-#}
{% macro hour_partitioned_config() %}
    {%- do return({
        'materialized': 'incremental',
        'incremental_strategy': 'replace_hours',
        'full_refresh': netflow_pca.validated_hour_id() is none,
        'on_schema_change': 'fail',
        'pre_hook': ["{{ netflow_pca.lock_selected_hours(this) }}", "{{ netflow_pca.check_other_hours_built() }}"],
        'post_hook': ["{{ netflow_pca.record_hour_build(this) }}"],
    }) -%}
{% endmacro %}
