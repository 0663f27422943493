{#- The day a flag of anomalous_users or anomaly_history is known by: the first day of its run
    (a lasting burst stays one flag while it grows), the evidence day of a row recorded before
    runs were, null for the loading method. `has_run_days` false for a relation without
    first_evidence_day (a history table built before it, until the build appends the column). -#}
{% macro flag_first_day(alias, has_run_days=true) %}
    {%- if has_run_days -%}
        coalesce({{ alias }}.first_evidence_day, {{ alias }}.evidence_day)
    {%- else -%}
        {{ alias }}.evidence_day
    {%- endif -%}
{% endmacro %}
