{#- The temporary table the hourly_pca_fit pre-hook writes and the model of principal components reads. -#}
{% macro hourly_pca_fit_relation() %}
    {%- do return('pg_temp.' ~ netflow_pca.quote_identifier(this.identifier ~ '__fit')) -%}
{% endmacro %}
