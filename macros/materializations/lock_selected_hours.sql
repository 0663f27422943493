{#-
    Waits for, then holds until commit, a transaction-level advisory lock on each hour this run
    builds of one relation, in ascending order: two runs for the same hour take turns instead of
    deleting each other's rows half way, and runs for different hours never wait for each other.
-#}
{% macro lock_selected_hours(relation) %}
    {%- set relation_key = "hashtext(" ~ netflow_pca.sql_string_literal(relation | string) ~ ")" -%}
    select count(pg_advisory_xact_lock({{ relation_key }}, hour_of_day))
    from unnest(array[{{ netflow_pca.selected_hours() | join(', ') }}]) as hours (hour_of_day)
{% endmacro %}
