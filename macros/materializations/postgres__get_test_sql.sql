{#-
    dbt's query of a data test (the failing rows counted), with JIT compilation off for it, as
    for every model (dbt_project.yml). The project's tests read millions of cells with plain
    aggregates, a plan cost far above jit_inline_above_cost: PostgreSQL spent 1 to 2 s compiling
    each of them and ran none faster (EXPLAIN ANALYZE on the 10 M events bench). `set local`
    lasts to the end of the test's transaction.
-#}
{% macro postgres__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    set local jit = off;
    {{ dbt.default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
{%- endmacro %}
