{#-
    Waits for, then holds until commit, a transaction-level advisory lock on each hour this run
    builds of one relation, in ascending order: two runs for the same hour take turns instead of
    deleting each other's rows half way, and runs for different hours do not wait for each other
    here (int_residual_scores, which reads the other hours, waits for a run writing one of them:
    check_other_hours_built).
-#}
{% macro lock_selected_hours(relation) %}
    {%- set relation_key = "hashtext(" ~ netflow_pca.sql_string_literal(relation | string) ~ ")" -%}
    select count(pg_advisory_xact_lock({{ relation_key }}, hour_of_day))
    from unnest(array[{{ netflow_pca.selected_hours() | join(', ') }}]) as hours (hour_of_day)
{% endmacro %}
