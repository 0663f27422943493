{% macro invalid_var(name, value, expected) %}
    {{- exceptions.raise_compiler_error(
        "Invalid var " ~ name ~ ": expected " ~ expected ~ ", got " ~ netflow_pca.shown_value(value)
    ) -}}
{% endmacro %}
