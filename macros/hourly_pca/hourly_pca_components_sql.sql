{#- The select of a model of principal components (pca_components, int_residual_pca_components):
    the rows its hourly_pca_fit pre-hook wrote, in MADlib's layout. -#}
{% macro hourly_pca_components_sql() %}
with

fit as (

    select * from {{ netflow_pca.hourly_pca_fit_relation() }}

),

final as (

    select
        hour_of_day,
        row_id,
        principal_components,
        std_dev,
        proportion

    from fit

)

select * from final
{% endmacro %}
