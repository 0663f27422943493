{#- The residual method's fit seen from each user (docs/scoring.md, steps 5-6), for the set-based
    route: per hour and user with cells, the normal subspace's size, the user's column mean and
    loadings on its components, the spread of their residuals, and for the whole day their level
    in flows and what an empty cell of theirs counts toward their day. A table of its own,
    analysed after the build, so that int_residual_expected_counts joins each of millions of
    cells to one row of its user with the planner knowing how many rows that is (from CTEs over unnested arrays it
    guessed 240 instead of 400,000 and hashed the cells instead, spilling them to disk). Hash
    joins only, as in int_residual_scores: a nested loop unnested every hour's arrays once per
    user. What no PCA decides (each user's level, sums and pooled spread) comes from
    int_residual_user_statistics, built beside the fit. Disabled or empty where
    int_residual_pca_input is (residual_scoring_route). -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_by=['name_id'],
    pre_hook=partitioned.get('pre_hook', []) + [
        'set local enable_mergejoin = off',
        'set local enable_nestloop = off',
        "set local work_mem = '32MB'",
    ],
)) }}
{#- as many loadings as the most components with a vector in the hours built (1 or 2 of the 20
    the fit holds at 10 M events: it computes the vectors of those that can be normal only, and
    test residual_normal_components_have_vectors fails on a normal one without): the others are
    null, and every user's row carried, summed and gathered 20 columns of them. In a build this
    model compiles after the fit is built -#}
{%- set most_components = netflow_pca.residual_loadings_needed(
    ref('int_residual_pca_components'), 'row_id', 'principal_components is not null') %}

with

fitted_components as (

    select * from {{ ref('int_residual_pca_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

fitted_means as (

    select * from {{ ref('int_residual_pca_column_means') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

user_statistics as (

    -- each user's level, sums and pooled spread, built beside the fit
    select * from {{ ref('int_residual_user_statistics') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

dims as (

    -- n_days and n_users are the same on every cell of an hour; from the users' rows, not a
    -- second scan of the cells
    select
        hour_of_day,
        max(n_days) as n_days,
        max(n_users) as n_users,
        least(max(n_days) - 1, max(n_users)) as spectrum_rank,
        cast(least(max(n_days) - 1, max(n_users)) as double precision) / greatest(max(n_days) - 1, max(n_users), 1) as beta

    from user_statistics

    group by hour_of_day

),

spectrum as (

    select
        fitted_components.hour_of_day,
        fitted_components.row_id,
        fitted_components.std_dev * fitted_components.std_dev as variance,
        dims.spectrum_rank,
        -- Gavish and Donoho's omega(beta), squared for variances
        power(0.56 * power(dims.beta, 3) - 0.95 * power(dims.beta, 2) + 1.82 * dims.beta + 1.43, 2) as omega_squared,
        -- the hour's total variance, from the first component's share of it
        first_value(fitted_components.std_dev * fitted_components.std_dev / nullif(fitted_components.proportion, 0))
            over (partition by fitted_components.hour_of_day order by fitted_components.row_id) as total_variance,
        coalesce(
            sum(fitted_components.std_dev * fitted_components.std_dev) over (
                partition by fitted_components.hour_of_day
                order by fitted_components.row_id
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as variance_before

    from fitted_components

    inner join dims
        on fitted_components.hour_of_day = dims.hour_of_day

),

normal_subspace as (

    -- the leading components, each while its variance exceeds omega^2 x the mean variance of
    -- it and all that follow
    select
        dims.hour_of_day,
        coalesce(
            min(
                case
                    when not (
                        spectrum.row_id <= spectrum.spectrum_rank
                        and spectrum.variance > spectrum.omega_squared * (spectrum.total_variance - spectrum.variance_before)
                            / (spectrum.spectrum_rank - spectrum.row_id + 1)
                    ) then spectrum.row_id
                end
            ) - 1,
            count(spectrum.row_id)
        ) as normal_components

    from dims

    left join spectrum
        on dims.hour_of_day = spectrum.hour_of_day

    group by dims.hour_of_day

),

hour_components as (

    -- per hour, its normal components side by side (null past normal_components), so that every
    -- user's loadings come out of one unnest as a row, without a transpose of the components
    select
        normal_subspace.hour_of_day,
        normal_subspace.normal_components,
        array_agg(fitted_components.std_dev * fitted_components.std_dev order by fitted_components.row_id) as variances,
        {%- for k in range(1, most_components + 1) %}
        max(fitted_components.principal_components) filter (where fitted_components.row_id = {{ k }}) as loadings_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from normal_subspace

    left join fitted_components
        on normal_subspace.hour_of_day = fitted_components.hour_of_day
        and fitted_components.row_id <= normal_subspace.normal_components

    group by
        normal_subspace.hour_of_day,
        normal_subspace.normal_components

),

user_components as materialized (

    -- per hour and user: the column mean, the loadings on the normal components, and the
    -- variance the normal subspace captures of the user. Materialised: each hour's arrays are
    -- unnested once, never once for each user the planner joins them to first
    select
        hour_components.hour_of_day,
        cast(entry.name_id as integer) as name_id,
        entry.column_mean,
        {%- for k in range(1, most_components + 1) %}
        entry.loading_{{ k }},
        {%- endfor %}
        {%- for k in range(1, most_components + 1) %}
        {{ '+ ' if not loop.first }}coalesce(hour_components.variances[{{ k }}] * entry.loading_{{ k }} * entry.loading_{{ k }}, 0)
        {%- endfor %} as captured_variance,
        -- the normal components' loadings, no nulls: an element of such an array is found
        -- without walking a null bitmap
        (array[
            {%- for k in range(1, most_components + 1) %}
            entry.loading_{{ k }}{{ ',' if not loop.last }}
            {%- endfor %}
        ])[1:hour_components.normal_components] as loadings

    from hour_components

    inner join fitted_means
        on hour_components.hour_of_day = fitted_means.hour_of_day

    cross join lateral rows from (
        unnest(fitted_means.column_mean),
        {%- for k in range(1, most_components + 1) %}
        unnest(hour_components.loadings_{{ k }}){{ ',' if not loop.last }}
        {%- endfor %}
    ) with ordinality as entry (
        column_mean,
        {%- for k in range(1, most_components + 1) %}
        loading_{{ k }},
        {%- endfor %}
        name_id
    )

),

spreads as (

    -- the user's variance outside the normal subspace, per active day; at least the pooled
    -- spread (a user's own, from 20 to 60 days, is sometimes much too small by chance); from the
    -- per-user sums of int_residual_user_statistics, not a second pass over the cells
    select
        user_statistics.hour_of_day,
        user_statistics.name_id,
        user_statistics.user_name,
        greatest(
            sqrt(greatest(
                (user_statistics.fit_squares - user_statistics.n_days * user_components.column_mean * user_components.column_mean)
                    / greatest(user_statistics.n_days - 1, 1)
                - user_components.captured_variance,
                0
            ) * user_statistics.n_days / user_statistics.active_days),
            user_statistics.pooled_spread
        ) as spread,
        user_statistics.pooled_spread,
        user_statistics.phi,
        user_statistics.level_flows,
        user_statistics.empty_day_flows,
        user_components.column_mean,
        user_components.loadings

    from user_statistics

    inner join user_components
        on user_statistics.hour_of_day = user_components.hour_of_day
        and user_statistics.name_id = user_components.name_id

),

final as (

    select
        spreads.hour_of_day,
        spreads.name_id,
        spreads.user_name,
        cast(normal_subspace.normal_components as integer) as normal_components,
        spreads.column_mean,
        spreads.loadings,
        spreads.spread,
        spreads.pooled_spread,
        spreads.phi,
        spreads.level_flows,
        spreads.empty_day_flows

    from spreads

    inner join normal_subspace
        on spreads.hour_of_day = normal_subspace.hour_of_day
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
