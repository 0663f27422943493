-- Every component of an hour's normal subspace (int_residual_user_components.normal_components)
-- has its vector in int_residual_pca_components: the fit computes the vectors of the components
-- that can be normal only (vector_variance_factor), and the rows past them hold a null vector.
-- The (hour, component) where a normal component's vector is null or missing. Only the hours this
-- run builds; disabled where those models are (residual_scoring_route). Its Dagster asset is set
-- here, not in _tests.yml: a YAML entry of a disabled singular test makes dbt warn at every parse.
{{ config(
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    meta={'dagster': {'ref': {'name': 'int_residual_user_components'}}},
) }}

with

normal_subspaces as (

    select distinct
        hour_of_day,
        normal_components

    from {{ ref('int_residual_user_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

components as (

    select * from {{ ref('int_residual_pca_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

final as (

    select
        normal_subspaces.hour_of_day,
        normal_components.row_id

    from normal_subspaces

    cross join generate_series(1, normal_subspaces.normal_components) as normal_components (row_id)

    left join components
        on normal_subspaces.hour_of_day = components.hour_of_day
        and normal_components.row_id = components.row_id

    where components.principal_components is null

)

select * from final
