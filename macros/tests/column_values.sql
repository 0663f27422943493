{#-
    The rows where a column of not_null is null, or a column of ranges lies outside its
    [min_value, max_value] (either bound may be left out), with a problem column naming each
    violation: not_null and accepted_range over several columns in one scan of the model, for
    tables of millions of rows where a scan per column and test adds up.
-#}
{% test column_values(model, not_null=[], ranges={}) %}
    {%- set checks = [] -%}
    {%- for column in not_null -%}
        {%- do checks.append((column ~ ' is null', column ~ ' is null')) -%}
    {%- endfor -%}
    {%- for column, bounds in ranges.items() -%}
        {%- if bounds.get('min_value') is not none -%}
            {%- do checks.append(('not (' ~ column ~ ' >= ' ~ bounds.min_value ~ ')', column ~ ' below ' ~ bounds.min_value)) -%}
        {%- endif -%}
        {%- if bounds.get('max_value') is not none -%}
            {%- do checks.append(('not (' ~ column ~ ' <= ' ~ bounds.max_value ~ ')', column ~ ' above ' ~ bounds.max_value)) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not checks -%}
        {{- exceptions.raise_compiler_error('column_values on ' ~ model ~ ': give not_null or ranges') -}}
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
