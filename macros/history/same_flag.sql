{#- Whether a row of anomalous_users (or of the build's raised flags) and a row of anomaly_history
    are the same flag: the same (hour, method, user) and, for a residual flag, runs of days that
    overlap, so that a lasting burst stays one flag while its run grows, at either end. A row
    recorded before runs were has only its evidence day: a run of one day. The loading method's
    flags have no day: its flag is the (hour, method, user). `recorded_has_run_days` false for a
    history table without first_evidence_day (built before it, until the build appends the column). -#}
{% macro same_flag(raised, recorded, recorded_has_run_days=true) %}
    {%- if recorded_has_run_days -%}
        {%- set recorded_first_day = 'coalesce(' ~ recorded ~ '.first_evidence_day, ' ~ recorded ~ '.evidence_day)' -%}
        {%- set recorded_last_day = 'coalesce(' ~ recorded ~ '.last_evidence_day, ' ~ recorded ~ '.evidence_day)' -%}
    {%- else -%}
        {%- set recorded_first_day = recorded ~ '.evidence_day' -%}
        {%- set recorded_last_day = recorded ~ '.evidence_day' -%}
    {%- endif -%}
    {{ raised }}.hour_of_day = {{ recorded }}.hour_of_day
        and {{ raised }}.method = {{ recorded }}.method
        and {{ raised }}.user_name = {{ recorded }}.user_name
        and (
            ({{ raised }}.evidence_day is null and {{ recorded }}.evidence_day is null)
            or (
                coalesce({{ raised }}.first_evidence_day, {{ raised }}.evidence_day) <= {{ recorded_last_day }}
                and {{ recorded_first_day }} <= coalesce({{ raised }}.last_evidence_day, {{ raised }}.evidence_day)
            )
        )
{%- endmacro %}
