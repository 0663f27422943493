{#-
    How this run computes the residual method: 'numpy' on the plpython backend (one PL/Python
    function per hour does every step, in int_residual_scores), 'sql' on the others (the set-based
    models int_residual_pca_input, int_residual_user_statistics, int_residual_pca_components,
    int_residual_pca_column_means and int_residual_user_components, then int_residual_scores' SQL),
    or 'none' when the var scoring_method leaves the method out.
    The backend is only known while executing ('auto' is resolved against the database); while
    parsing, and with from_vars, the route is the one the vars alone name: 'numpy' when pca_backend
    is plpython, else 'sql'. The set-based models are disabled (no nodes, no tests) when the vars
    name the numpy route; otherwise a route that does not use them builds them empty.
-#}
{% macro residual_scoring_route(from_vars=false) %}
    {%- set run = netflow_pca.run_vars() -%}
    {%- if 'residual' not in run.scoring_methods -%}
        {%- do return('none') -%}
    {%- endif -%}
    {#- while executing, pca_backend also checks that the backend can run and installs its functions #}
    {%- set backend = netflow_pca.pca_backend(run.pca_backend).name if execute and not from_vars else run.pca_backend -%}
    {%- do return('numpy' if backend == 'plpython' else 'sql') -%}
{% endmacro %}
