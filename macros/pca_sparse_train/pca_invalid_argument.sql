{% macro pca_invalid_argument(argument, problem) %}
    {{- exceptions.raise_compiler_error('pca_sparse_train: invalid argument ' ~ argument ~ ': ' ~ problem) -}}
{% endmacro %}
