{#-
    How this run computes the residual method: 'numpy' on the plpython backend (one PL/Python
    function per hour does every step, in int_residual_scores), 'sql' on the others (the set-based
    models int_residual_pca_input, int_residual_pca_components and int_residual_pca_column_means,
    then int_residual_scores' SQL), or 'none' when the var scoring_method leaves the method out.
    The models a route does not use are built empty. Only known while executing: 'sql' while dbt
    parses.
-#}
{% macro residual_scoring_route() %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if 'residual' not in run.scoring_methods -%}
        {%- do return('none') -%}
    {%- endif -%}
    {%- if execute and netflow_pca.pca_backend(run.pca_backend).name == 'plpython' -%}
        {%- do return('numpy') -%}
    {%- endif -%}
    {%- do return('sql') -%}
{% endmacro %}
