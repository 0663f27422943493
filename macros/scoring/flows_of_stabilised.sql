{#- The flow count a value on the stabilised scale stands for: the inverse of the shifted Anscombe
    transform of int_residual_pca_input, 2 (sqrt(x + 3/8) - sqrt(3/8)), as the numpy route's
    inverse_anscombe (the root clamped at 0). -#}
{% macro flows_of_stabilised(value) -%}
    power(greatest(({{ value }}) / 2 + sqrt(0.375), 0), 2) - 0.375
{%- endmacro %}
