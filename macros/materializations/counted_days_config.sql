{#-
    Config for the model that counts events per user, day and hour (int_hourly_counts): as
    hour_partitioned_config, and with the var recount_days set, a run of all hours is incremental
    too. The days of kept_days_range keep their rows; every other row of the hours this run builds
    is deleted (the strategy's predicate), and the model counts only the days outside that range.
    --full-refresh counts every day again (a one-hour run still refuses it).
-#}
{% macro counted_days_config(relation) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- set config = netflow_pca.hour_partitioned_config() -%}
    {%- if run.recount_days is not none -%}
        {%- do config.update({
            'full_refresh': none if run.hour_id is none else false,
            'incremental_predicates': ['not (day <@ ' ~ netflow_pca.kept_days_range(relation) ~ ')'],
        }) -%}
    {%- endif -%}
    {%- do return(config) -%}
{% endmacro %}
