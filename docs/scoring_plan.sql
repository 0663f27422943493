-- The residual method as set-based SQL: the plan for the dbt implementation (docs/scoring.md).
-- Plain PostgreSQL 12+ / Greenplum 7 SQL, run as it is by orchestrate/tests/test_scoring_sql_plan.py
-- against the numpy reference. Placeholders: {input} (int_pca_input's columns), {cells}, {pca}
-- (pca_sparse_train's output; {pca}_mean its means), {scores}; %(name)s are the parameters.
-- The two statements are separated by a line holding only ";"; between them the PCA is fitted:
--   pca_sparse_train('{cells}' where fit_value <> 0, '{pca}', 'day_id', 'name_id', 'fit_value',
--                    n_days, n_users, least(%(max_components)s, n_days - 1, n_users), 'hour_of_day')

-- step 1: per cell, the variance-stabilised count, the user's level and spread, the deviation,
-- and the value the PCA is fitted on (individual extremes damped to the level, 0)
create table {cells} as
with

cells as (

    select
        hour_of_day,
        day_id,
        name_id,
        user_name,
        day,
        flow_count,
        2 * (sqrt(flow_count + 0.375) - sqrt(0.375)) as stabilised

    from {input}

),

dims as (

    select
        hour_of_day,
        count(distinct day_id) as n_days,
        count(distinct name_id) as n_users

    from cells

    group by hour_of_day

),

medians as (

    select
        hour_of_day,
        name_id,
        count(*) as active_days,
        percentile_cont(0.5) within group (order by stabilised) as median_stabilised

    from cells

    group by
        hour_of_day,
        name_id

),

levels as (

    select
        medians.hour_of_day,
        medians.name_id,
        medians.active_days,
        case
            when medians.active_days >= %(min_active_days)s then medians.median_stabilised
            else 0
        end as level,
        case
            when medians.active_days >= %(min_active_days)s
                then greatest(1.4826 * percentile_cont(0.5) within group (order by abs(cells.stabilised - medians.median_stabilised)), 1)
            else 1
        end as scale

    from cells

    inner join medians
        on cells.hour_of_day = medians.hour_of_day
        and cells.name_id = medians.name_id

    group by
        medians.hour_of_day,
        medians.name_id,
        medians.active_days,
        medians.median_stabilised

),

deviations as (

    select
        cells.*,
        levels.active_days,
        levels.level,
        levels.scale,
        (cells.stabilised - levels.level) / levels.scale as deviation,
        (cells.stabilised - levels.level) / levels.scale > %(damp_at)s as is_extreme

    from cells

    inner join levels
        on cells.hour_of_day = levels.hour_of_day
        and cells.name_id = levels.name_id

),

collective_days as (

    select
        deviations.hour_of_day,
        deviations.day_id,
        sum(case when deviations.is_extreme then 1 else 0 end)
            >= greatest(%(collective_min_users)s, %(collective_share)s * dims.n_users) as is_collective

    from deviations

    inner join dims
        on deviations.hour_of_day = dims.hour_of_day

    group by
        deviations.hour_of_day,
        deviations.day_id,
        dims.n_users

),

recurring_users as (

    select
        hour_of_day,
        name_id,
        sum(case when is_extreme then 1 else 0 end) > %(max_extreme_days)s as is_recurring

    from deviations

    group by
        hour_of_day,
        name_id

)

select
    deviations.*,
    dims.n_days,
    dims.n_users,
    case
        when deviations.is_extreme and not collective_days.is_collective and not recurring_users.is_recurring then 0
        else deviations.deviation
    end as fit_value

from deviations

inner join dims
    on deviations.hour_of_day = dims.hour_of_day

inner join collective_days
    on deviations.hour_of_day = collective_days.hour_of_day
    and deviations.day_id = collective_days.day_id

inner join recurring_users
    on deviations.hour_of_day = recurring_users.hour_of_day
    and deviations.name_id = recurring_users.name_id

-- step 2: the normal subspace, each active cell's residual and evidence, and per user the best cell
;
create table {scores} as
with

cells as (

    select * from {cells}

),

dims as (

    select distinct
        hour_of_day,
        n_days,
        n_users,
        least(n_days - 1, n_users) as spectrum_rank,
        cast(least(n_days - 1, n_users) as float8) / greatest(n_days - 1, n_users) as beta

    from cells

),

spectrum as (

    select
        pca.hour_of_day,
        pca.row_id,
        pca.std_dev * pca.std_dev as variance,
        dims.spectrum_rank,
        -- Gavish and Donoho's omega(beta), squared for variances
        power(0.56 * power(dims.beta, 3) - 0.95 * power(dims.beta, 2) + 1.82 * dims.beta + 1.43, 2) as omega_squared,
        first_value(pca.std_dev * pca.std_dev / nullif(pca.proportion, 0))
            over (partition by pca.hour_of_day order by pca.row_id) as total_variance,
        coalesce(sum(pca.std_dev * pca.std_dev)
            over (partition by pca.hour_of_day order by pca.row_id rows between unbounded preceding and 1 preceding), 0) as variance_before

    from {pca} as pca

    inner join dims
        on pca.hour_of_day = dims.hour_of_day

),

normal as (

    select
        dims.hour_of_day,
        coalesce(
            min(case when not (spectrum.row_id <= spectrum.spectrum_rank
                and spectrum.variance > spectrum.omega_squared * (spectrum.total_variance - spectrum.variance_before)
                    / (spectrum.spectrum_rank - spectrum.row_id + 1)) then spectrum.row_id end) - 1,
            count(spectrum.row_id)
        ) as normal_components

    from dims

    left join spectrum
        on dims.hour_of_day = spectrum.hour_of_day

    group by dims.hour_of_day

),

loadings as (

    select
        pca.hour_of_day,
        pca.row_id,
        cast(entry.name_id as integer) as name_id,
        entry.loading,
        pca.std_dev * pca.std_dev as variance

    from {pca} as pca

    inner join normal
        on pca.hour_of_day = normal.hour_of_day
        and pca.row_id <= normal.normal_components

    cross join lateral unnest(pca.principal_components) with ordinality as entry (loading, name_id)

),

means as (

    select
        pca_mean.hour_of_day,
        cast(entry.name_id as integer) as name_id,
        entry.column_mean

    from {pca}_mean as pca_mean

    cross join lateral unnest(pca_mean.column_mean) with ordinality as entry (column_mean, name_id)

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

    select
        cells.hour_of_day,
        cells.day_id,
        loadings.row_id,
        sum(cells.deviation * loadings.loading) - component_offsets.mean_score as score

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
        sum(day_scores.score * loadings.loading) as projection

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
        cells.deviation - means.column_mean - coalesce(projections.projection, 0) as residual,
        (cells.deviation - means.column_mean - coalesce(projections.projection, 0)) / spreads.spread as evidence,
        -- the count the normal subspace expected: inverse Anscombe of level + scale * prediction
        power(greatest(
            (cells.level + cells.scale * (means.column_mean + coalesce(projections.projection, 0))) / 2 + sqrt(0.375),
            0
        ), 2) - 0.375 as expected_flow_count,
        normal.normal_components

    from cells

    inner join means
        on cells.hour_of_day = means.hour_of_day
        and cells.name_id = means.name_id

    inner join spreads
        on cells.hour_of_day = spreads.hour_of_day
        and cells.name_id = spreads.name_id

    inner join normal
        on cells.hour_of_day = normal.hour_of_day

    left join projections
        on cells.hour_of_day = projections.hour_of_day
        and cells.day_id = projections.day_id
        and cells.name_id = projections.name_id

),

ranked as (

    select
        evidence.*,
        row_number() over (partition by hour_of_day, name_id order by evidence desc, day_id) as day_rank

    from evidence

)

select
    hour_of_day,
    user_name,
    cast('residual' as text) as method,
    evidence as score,
    evidence > %(threshold)s as is_outlier,
    day as evidence_day,
    flow_count,
    expected_flow_count,
    normal_components

from ranked

where day_rank = 1
