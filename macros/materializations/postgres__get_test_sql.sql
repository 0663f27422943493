{#-
    dbt's query of a data test (the failing rows counted), with JIT compilation off for it, as
    for every model (dbt_project.yml). The project's tests read millions of cells with plain
    aggregates, a plan cost far above jit_inline_above_cost: PostgreSQL spent 1 to 2 s compiling
    each of them and ran none faster (EXPLAIN ANALYZE on the 10 M events bench). A test's
    meta.settings (a mapping of server settings to values) are set for it too, as a model's
    pre-hook sets them: a test that hashes hundreds of thousands of groups can hold them in
    memory. `set local` lasts to the end of the test's transaction.
-#}
{% macro postgres__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) -%}
    set local jit = off;
    {%- for name, value in (config.get('meta') or {}).get('settings', {}).items() %}
    {%- if not modules.re.fullmatch('[a-z_]+', name) %}
    {{- exceptions.raise_compiler_error('meta.settings of a test: ' ~ name ~ ' is not a setting name') }}
    {%- endif %}
    set local {{ name }} = {{ netflow_pca.sql_string_literal(value | string) }};
    {%- endfor %}
    {{ dbt.default__get_test_sql(main_sql, fail_calc, warn_if, error_if, limit) }}
{%- endmacro %}
