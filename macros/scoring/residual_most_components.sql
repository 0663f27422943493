{#- The most components a normal subspace of the residual method can hold: the residual fit keeps
    at most residual_max_components, and fewer than the days (at least 1). The width of the
    per-user loadings that int_residual_user_components writes and int_residual_scores reads. -#}
{% macro residual_most_components() -%}
    {%- set run = netflow_pca.run_vars() -%}
    {%- do return([[run.residual_max_components, run.lookback_days - 1] | min, 1] | max) -%}
{%- endmacro %}
