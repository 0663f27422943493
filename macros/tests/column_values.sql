{#-
    The rows where a column of not_null is null (or of not_null_where, on the rows its condition
    holds), a column of ranges lies outside its [min_value, max_value] (either bound may be left
    out; greater_than is a bound the value must exceed), or a column of accepted_values holds
    another value, with a problem column naming each violation: dbt's not_null, accepted_range
    and accepted_values over several columns in one scan of the model and one test node, where a
    node per column and test adds up (each waits for a thread and a query, and the model's
    children wait for them all).
-#}
{% test column_values(model, not_null=[], ranges={}, not_null_where={}, accepted_values={}) %}
    {%- set checks = [] -%}
    {%- for column in not_null -%}
        {%- do checks.append((column ~ ' is null', column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for condition, columns in not_null_where.items() -%}
        {%- for column in columns -%}
            {%- do checks.append(('((' ~ condition ~ ') and ' ~ column ~ ' is null)', column ~ ' is null where ' ~ condition)) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for column, values in accepted_values.items() -%}
        {%- set literals = [] -%}
        {%- for value in values -%}
            {%- do literals.append(netflow_pca.sql_string_literal(value | string)) -%}
        {%- endfor -%}
        {%- do checks.append(('not (' ~ column ~ ' in (' ~ literals | join(', ') ~ '))', column ~ ' not one of ' ~ values | join(', '))) -%}
    {%- endfor -%}
    {%- for column, bounds in ranges.items() -%}
        {%- if bounds.get('min_value') is not none -%}
            {%- do checks.append(('not (' ~ column ~ ' >= ' ~ bounds.min_value ~ ')', column ~ ' below ' ~ bounds.min_value)) -%}
        {%- endif -%}
        {%- if bounds.get('greater_than') is not none -%}
            {%- do checks.append(('not (' ~ column ~ ' > ' ~ bounds.greater_than ~ ')', column ~ ' not above ' ~ bounds.greater_than)) -%}
        {%- endif -%}
        {%- if bounds.get('max_value') is not none -%}
            {%- do checks.append(('not (' ~ column ~ ' <= ' ~ bounds.max_value ~ ')', column ~ ' above ' ~ bounds.max_value)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not checks -%}
        {{- exceptions.raise_compiler_error('column_values on ' ~ model ~ ': give not_null, not_null_where, ranges or accepted_values') -}}
    {%- endif %}

    with validation_errors as (

        select
            concat_ws('; '
            {%- for condition, problem in checks %},
                case when {{ condition }} then {{ netflow_pca.sql_string_literal(problem) }} end
            {%- endfor %}
            ) as problem,
            *

        from {{ model }}

        where
            {%- for condition, problem in checks %}
            {{ 'or ' if not loop.first }}{{ condition }}
            {%- endfor %}

    )

    select * from validation_errors
{% endtest %}
