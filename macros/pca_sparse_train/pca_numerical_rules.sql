{#-
    The numerical rules every backend applies the same way, so that they agree with each other:
    - no_variance: a group whose centred sum of squares is at most this share of its raw sum of
      squares has no variance (its rows are equal up to rounding) and gets no components;
    - zero_share: a component with at most this share of the total variance is zero (its direction
      is not determined) and is never kept;
    - sign_tolerance: a component's sign makes its largest-magnitude entry positive, where the
      largest is the first entry within this relative tolerance of the maximum magnitude, so that
      near-ties do not flip the sign between backends.
-#}
{% macro pca_numerical_rules() %}
    {%- do return({'no_variance': 1e-12, 'zero_share': 1e-10, 'sign_tolerance': 1e-9}) -%}
{% endmacro %}
