{#- The residual method's normal-subspace candidates: the leading components of each hour's
    damped deviations (int_residual_pca_input.fit_value), fitted like pca_components. Fitted for
    the set-based route of the residual method only (residual_scoring_route): disabled when the
    vars name plpython, empty when another route runs.
    The spectrum of all of them decides the normal subspace (int_residual_user_components), but
    only its components' vectors are read: a component is normal only while its variance exceeds
    omega(beta)^2 times the mean variance of it and all that follow, over at most the days less
    its number, and omega(beta) >= 1.43 for every beta (it grows with beta), so omega^2 > 2. With
    vector_variance_factor 2 the sql backend computes the vectors of the leading components that
    pass that looser test only (1 or 2 of the 20 at 10 M events) and leaves the others null: the
    projections and the gathering of 20 vectors of 20,000 users per hour took ~10 s of the fit's
    17 s; test residual_normal_components_have_vectors guards that none read is null. -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_by=['hour_of_day'],
    pre_hook=partitioned.get('pre_hook', []) + [
        "{{ netflow_pca.hourly_pca_fit(ref('int_residual_pca_input'), 'fit_value', ref('int_pca_dimensions'), netflow_pca.run_vars().residual_max_components, 2)"
        ~ " if netflow_pca.residual_scoring_route() == 'sql' }}"
    ],
)) }}
-- depends_on: {{ ref('int_residual_pca_input') }}, {{ ref('int_pca_dimensions') }}

{% if netflow_pca.residual_scoring_route() == 'sql' -%}
{{ netflow_pca.hourly_pca_components_sql() }}
{%- else -%}
with

final as (

    select
        cast(null as integer) as hour_of_day,
        cast(null as integer) as row_id,
        cast(null as double precision[]) as principal_components,
        cast(null as double precision) as std_dev,
        cast(null as double precision) as proportion

    where false

)

select * from final
{%- endif %}
