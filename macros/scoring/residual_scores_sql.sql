{#-
    The residual method's scores (docs/scoring.md, steps 6-7), a select of user_outlier_scores'
    columns: per hour, the normal subspace (the leading components above Gavish and Donoho's hard
    threshold for noise of unknown level), each active cell's residual off it, divided by the
    user's residual spread (the Q-statistic's variance of one variable) as the cell's evidence;
    per (hour, user) the largest evidence, its day, the count and the count the normal subspace
    expected. Only the hours this run builds. Set-based SQL for PostgreSQL 12+ and Greenplum 7.
-#}
{% macro residual_scores_sql(residual_input, components, column_means, threshold) %}
with

cells as (

    select * from {{ residual_input }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

fitted_components as (

    select * from {{ components }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

fitted_means as (

    select * from {{ column_means }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

dims as (

    select distinct
        hour_of_day,
        n_days,
        n_users,
        least(n_days - 1, n_users) as spectrum_rank,
        cast(least(n_days - 1, n_users) as double precision) / greatest(n_days - 1, n_users, 1) as beta

    from cells

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

loadings as (

    select
        fitted_components.hour_of_day,
        fitted_components.row_id,
        cast(entry.name_id as integer) as name_id,
        entry.loading,
        fitted_components.std_dev * fitted_components.std_dev as variance

    from fitted_components

    inner join normal_subspace
        on fitted_components.hour_of_day = normal_subspace.hour_of_day
        and fitted_components.row_id <= normal_subspace.normal_components

    cross join lateral unnest(fitted_components.principal_components) with ordinality as entry (loading, name_id)

),

means as (

    select
        fitted_means.hour_of_day,
        cast(entry.name_id as integer) as name_id,
        entry.column_mean

    from fitted_means

    cross join lateral unnest(fitted_means.column_mean) with ordinality as entry (column_mean, name_id)

),

component_offsets as (

    select
        loadings.hour_of_day,
        loadings.row_id,
        sum(loadings.loading * means.column_mean) as mean_score

    from loadings

    inner join means
        on loadings.hour_of_day = means.hour_of_day
        and loadings.name_id = means.name_id

    group by
        loadings.hour_of_day,
        loadings.row_id

),

day_scores as (

    -- each day's coordinates in the normal subspace, of its centred undamped deviations
    select
        cells.hour_of_day,
        cells.day_id,
        loadings.row_id,
        sum(cells.deviation * loadings.loading) - component_offsets.mean_score as day_score

    from cells

    inner join loadings
        on cells.hour_of_day = loadings.hour_of_day
        and cells.name_id = loadings.name_id

    inner join component_offsets
        on loadings.hour_of_day = component_offsets.hour_of_day
        and loadings.row_id = component_offsets.row_id

    group by
        cells.hour_of_day,
        cells.day_id,
        loadings.row_id,
        component_offsets.mean_score

),

projections as (

    select
        cells.hour_of_day,
        cells.day_id,
        cells.name_id,
        sum(day_scores.day_score * loadings.loading) as projection

    from cells

    inner join loadings
        on cells.hour_of_day = loadings.hour_of_day
        and cells.name_id = loadings.name_id

    inner join day_scores
        on cells.hour_of_day = day_scores.hour_of_day
        and cells.day_id = day_scores.day_id
        and loadings.row_id = day_scores.row_id

    group by
        cells.hour_of_day,
        cells.day_id,
        cells.name_id

),

captured as (

    select
        hour_of_day,
        name_id,
        sum(variance * loading * loading) as captured_variance

    from loadings

    group by
        hour_of_day,
        name_id

),

spreads as (

    -- the user's variance outside the normal subspace, per active day; at least one count's
    -- worth on the stabilised scale
    select
        cells.hour_of_day,
        cells.name_id,
        greatest(
            sqrt(greatest(
                (sum(cells.fit_value * cells.fit_value) - max(cells.n_days) * max(means.column_mean) * max(means.column_mean))
                    / greatest(max(cells.n_days) - 1, 1)
                - coalesce(max(captured.captured_variance), 0),
                0
            ) * max(cells.n_days) / max(cells.active_days)),
            1 / max(cells.scale)
        ) as spread

    from cells

    inner join means
        on cells.hour_of_day = means.hour_of_day
        and cells.name_id = means.name_id

    left join captured
        on cells.hour_of_day = captured.hour_of_day
        and cells.name_id = captured.name_id

    group by
        cells.hour_of_day,
        cells.name_id

),

evidence as (

    select
        cells.hour_of_day,
        cells.day_id,
        cells.name_id,
        cells.user_name,
        cells.day,
        cells.flow_count,
        (cells.deviation - means.column_mean - coalesce(projections.projection, 0)) / spreads.spread as evidence,
        -- the inverse of the stabilising transform at level + scale x the normal prediction
        power(greatest(
            (cells.level + cells.scale * (means.column_mean + coalesce(projections.projection, 0))) / 2 + sqrt(0.375),
            0
        ), 2) - 0.375 as expected_flow_count,
        normal_subspace.normal_components

    from cells

    inner join means
        on cells.hour_of_day = means.hour_of_day
        and cells.name_id = means.name_id

    inner join spreads
        on cells.hour_of_day = spreads.hour_of_day
        and cells.name_id = spreads.name_id

    inner join normal_subspace
        on cells.hour_of_day = normal_subspace.hour_of_day

    left join projections
        on cells.hour_of_day = projections.hour_of_day
        and cells.day_id = projections.day_id
        and cells.name_id = projections.name_id

),

best_days as (

    select
        evidence.*,
        row_number() over (partition by hour_of_day, name_id order by evidence desc, day_id) as day_rank

    from evidence

),

final as (

    select
        hour_of_day,
        user_name,
        cast('residual' as text) as method,
        cast(evidence as double precision) as score,
        cast({{ threshold }} as double precision) as threshold,
        evidence > {{ threshold }} as is_anomalous,
        day as evidence_day,
        cast(null as integer) as evidence_component,
        cast(flow_count as bigint) as flow_count,
        cast(expected_flow_count as double precision) as expected_flow_count,
        cast(normal_components as integer) as kept_components

    from best_days

    where day_rank = 1

)

select * from final
{% endmacro %}
