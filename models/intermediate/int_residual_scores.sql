{#- The residual method's scores (docs/scoring.md, steps 5-8): per hour and user, the score of
    their best run of consecutive days with evidence (an active cell's residual off the hour's
    normal subspace over the user's residual spread) above residual_run_at, or of their best day,
    the run's first and last day, its best day, that day's count and the count the normal
    subspace expected. On the plpython backend
    one PL/Python function per hour does every step in numpy from the hour's cells (int_pca_input's,
    from int_hourly_counts and int_window_days); on the others it
    is set-based SQL over the residual PCA models (residual_scoring_route). Empty when the var
    scoring_method leaves the method out. The planner misjudges the sizes of CTEs and function
    results, and picks merge joins that rescan the cells' projections millions of times (16 s
    instead of 2 s for 40,000 cells) or a nested loop of every user's best day over every cell
    (minutes): hash joins only, for this model's transaction; and no JIT, whose compilation
    the resulting cost estimates trigger for nothing. -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    distributed_by=['user_name'],
    pre_hook=partitioned.get('pre_hook', []) + [
        'set local enable_mergejoin = off',
        'set local enable_nestloop = off',
        'set local jit = off',
        "set local work_mem = '32MB'",
    ],
)) }}
{%- set run = netflow_pca.run_vars() %}
{%- set route = netflow_pca.residual_scoring_route() %}
{#- the most components a normal subspace can hold: the residual fit keeps at most
    residual_max_components, and fewer than the days -#}
{%- set most_components = [[run.residual_max_components, run.lookback_days - 1] | min, 1] | max %}
-- depends_on: {{ ref('int_hourly_counts') }}, {{ ref('int_window_days') }}
{%- if netflow_pca.residual_scoring_route(from_vars=true) != 'numpy' %}, {{ ref('int_residual_pca_input') }}, {{ ref('int_residual_pca_components') }}, {{ ref('int_residual_pca_column_means') }}{% endif %}

{% if route == 'numpy' -%}
with

{#- the hour's cells straight from the counts and the window's days, as int_pca_input windows
    them, not from int_pca_input: the function numbers the users itself (name_id's rank), so the
    scoring runs beside int_pca_input and its tests instead of after them #}
hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

{#- read once (a CTE read more than once is materialised without statistics, and the planner
    then hashed the millions of cells instead of the window's days) #}
matrix_days as (

    -- each day's row of its hour's matrix, with the hour's rows (int_pca_dimensions' row_dim:
    -- its days in the window)
    select
        hour_of_day,
        day,
        day_id,
        max(day_id) over (partition by hour_of_day) as row_dim

    from {{ ref('int_window_days') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

matrices as (

    -- each hour's cells in one row: the day_id and the count as big-endian integers (no text
    -- to format and parse) and each cell's user, all in the same order (one aggregation feeds
    -- them the same rows), so that the function names its users: joining them back through
    -- every cell cost a hash of all the cells
    select
        hourly_counts.hour_of_day,
        matrix_days.row_dim,
        string_agg(int4send(cast(matrix_days.day_id as integer)), '') as cell_day_ids,
        string_agg(int8send(cast(hourly_counts.flow_count as bigint)), '') as cell_counts,
        array_agg(hourly_counts.user_name) as cell_users

    from hourly_counts

    inner join matrix_days
        on hourly_counts.hour_of_day = matrix_days.hour_of_day
        and hourly_counts.day = matrix_days.day

    group by
        hourly_counts.hour_of_day,
        matrix_days.row_dim

),

best_days as materialized (

    -- materialised: the function runs once an hour, never again for each row it is joined to
    select
        matrices.hour_of_day,
        scored.name_id,
        scored.user_name,
        scored.day_id,
        scored.score,
        scored.flow_count,
        scored.expected_flow_count,
        scored.first_day_id,
        scored.last_day_id,
        scored.normal_components

    from matrices

    cross join lateral {{ netflow_pca.quote_identifier(run.pca_functions_schema) }}.pca_residual_scores_numpy(
        matrices.cell_day_ids,
        matrices.cell_counts,
        matrices.cell_users,
        cast(matrices.row_dim as integer),
        {{ run.residual_min_active_days }},
        cast({{ run.residual_damp_at }} as double precision),
        cast({{ run.residual_collective_share }} as double precision),
        {{ run.residual_collective_min_users }},
        {{ run.residual_max_extreme_days }},
        {{ run.residual_max_components }},
        cast({{ run.residual_run_at }} as double precision),
        {{ run.residual_max_run_days }}
    ) as scored

),

window_days as (

    select * from {{ ref('int_window_days') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

final as (

    select
        best_days.hour_of_day,
        best_days.user_name,
        cast('residual' as text) as method,
        cast(best_days.score as double precision) as score,
        cast({{ run.residual_threshold }} as double precision) as threshold,
        best_days.score > {{ run.residual_threshold }} as is_anomalous,
        evidence_days.day as evidence_day,
        cast(null as integer) as evidence_component,
        cast(best_days.flow_count as bigint) as flow_count,
        cast(best_days.expected_flow_count as double precision) as expected_flow_count,
        cast(best_days.normal_components as integer) as kept_components,
        first_days.day as first_evidence_day,
        last_days.day as last_evidence_day

    from best_days

    inner join window_days as evidence_days
        on best_days.hour_of_day = evidence_days.hour_of_day
        and best_days.day_id = evidence_days.day_id

    inner join window_days as first_days
        on best_days.hour_of_day = first_days.hour_of_day
        and best_days.first_day_id = first_days.day_id

    inner join window_days as last_days
        on best_days.hour_of_day = last_days.hour_of_day
        and best_days.last_day_id = last_days.day_id

)

select * from final
{%- else -%}
with

cells as not materialized (

    -- not materialised: each use scans the analysed table, whose statistics the planner then
    -- has (a materialised copy of every cell was written to disk and read six times)
    select * from {{ ref('int_residual_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

fitted_components as (

    select * from {{ ref('int_residual_pca_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

fitted_means as (

    select * from {{ ref('int_residual_pca_column_means') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

dims as (

    -- n_days and n_users are the same on every cell of an hour
    select
        hour_of_day,
        max(n_days) as n_days,
        max(n_users) as n_users,
        least(max(n_days) - 1, max(n_users)) as spectrum_rank,
        cast(least(max(n_days) - 1, max(n_users)) as double precision) / greatest(max(n_days) - 1, max(n_users), 1) as beta

    from cells

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
        array_agg(fitted_components.std_dev * fitted_components.std_dev order by fitted_components.row_id) as variances,
        {%- for k in range(1, most_components + 1) %}
        max(fitted_components.principal_components) filter (where fitted_components.row_id = {{ k }}) as loadings_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from normal_subspace

    left join fitted_components
        on normal_subspace.hour_of_day = fitted_components.hour_of_day
        and fitted_components.row_id <= normal_subspace.normal_components

    group by normal_subspace.hour_of_day

),

user_components as (

    -- per hour and user: the column mean, the loadings on the normal components, and the
    -- variance the normal subspace captures of the user
    select
        hour_components.hour_of_day,
        cast(entry.name_id as integer) as name_id,
        entry.column_mean,
        {%- for k in range(1, most_components + 1) %}
        entry.loading_{{ k }},
        {%- endfor %}
        {%- for k in range(1, most_components + 1) %}
        {{ '+ ' if not loop.first }}coalesce(hour_components.variances[{{ k }}] * entry.loading_{{ k }} * entry.loading_{{ k }}, 0)
        {%- endfor %} as captured_variance

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

component_offsets as (

    select
        hour_of_day,
        {%- for k in range(1, most_components + 1) %}
        sum(loading_{{ k }} * column_mean) as mean_score_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from user_components

    group by hour_of_day

),

day_sums as (

    -- per day, one sum per normal component over the day's cells (null past the hour's normal
    -- components)
    select
        cells.hour_of_day,
        cells.day_id,
        {%- for k in range(1, most_components + 1) %}
        sum(cells.deviation * user_components.loading_{{ k }}) as score_sum_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from cells

    inner join user_components
        on cells.hour_of_day = user_components.hour_of_day
        and cells.name_id = user_components.name_id

    group by
        cells.hour_of_day,
        cells.day_id

),

day_scores as (

    -- each day's coordinates in the normal subspace, of its centred undamped deviations
    select
        day_sums.hour_of_day,
        day_sums.day_id,
        {%- for k in range(1, most_components + 1) %}
        day_sums.score_sum_{{ k }} - component_offsets.mean_score_{{ k }} as day_score_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from day_sums

    inner join component_offsets
        on day_sums.hour_of_day = component_offsets.hour_of_day

),

user_levels as (

    select
        hour_of_day,
        name_id,
        max(level) as level,
        max(scale) as scale,
        -- the flows the level stands for
        {{ netflow_pca.flows_of_stabilised('max(level)') }} as level_flows,
        max(n_days) as n_days,
        max(active_days) as active_days,
        sum(fit_value * fit_value) as fit_squares

    from cells

    group by
        hour_of_day,
        name_id

),

dispersions as (

    -- the hour's over-dispersion phi (a count of mean mu has a stabilised variance of about
    -- 1 + phi mu), pooled over the users whose level is at least 2 flows: robust to those whose
    -- own MAD is off by chance
    select
        hour_of_day,
        coalesce(
            percentile_cont(0.5) within group (order by (scale * scale - 1) / level_flows) filter (where level_flows >= 2),
            0
        ) as phi

    from user_levels

    group by hour_of_day

),

pooled_spreads as (

    -- the spread the hour's count model gives at the user's level, in deviation units
    select
        user_levels.hour_of_day,
        user_levels.name_id,
        user_levels.n_days,
        user_levels.active_days,
        user_levels.fit_squares,
        dispersions.phi,
        sqrt(1 + dispersions.phi * user_levels.level_flows) / user_levels.scale as pooled_spread

    from user_levels

    inner join dispersions
        on user_levels.hour_of_day = dispersions.hour_of_day

),

spreads as (

    -- the user's variance outside the normal subspace, per active day; at least the pooled
    -- spread (a user's own, from 20 to 60 days, is sometimes much too small by chance); from the
    -- per-user sums of user_levels, not a second pass over the cells
    select
        pooled_spreads.hour_of_day,
        pooled_spreads.name_id,
        greatest(
            sqrt(greatest(
                (pooled_spreads.fit_squares - pooled_spreads.n_days * user_components.column_mean * user_components.column_mean)
                    / greatest(pooled_spreads.n_days - 1, 1)
                - user_components.captured_variance,
                0
            ) * pooled_spreads.n_days / pooled_spreads.active_days),
            pooled_spreads.pooled_spread
        ) as spread,
        pooled_spreads.pooled_spread,
        pooled_spreads.phi

    from pooled_spreads

    inner join user_components
        on pooled_spreads.hour_of_day = user_components.hour_of_day
        and pooled_spreads.name_id = user_components.name_id

),

projections as (

    -- each cell's column mean and projection on the normal subspace: its day's scores times its
    -- user's loadings
    select
        cells.hour_of_day,
        cells.day_id,
        cells.name_id,
        cells.user_name,
        cells.day,
        cells.flow_count,
        cells.level,
        cells.scale,
        cells.deviation,
        user_components.column_mean,
        {%- for k in range(1, most_components + 1) %}
        {{ '+ ' if not loop.first }}coalesce(day_scores.day_score_{{ k }} * user_components.loading_{{ k }}, 0)
        {%- endfor %} as projection

    from cells

    inner join user_components
        on cells.hour_of_day = user_components.hour_of_day
        and cells.name_id = user_components.name_id

    inner join day_scores
        on cells.hour_of_day = day_scores.hour_of_day
        and cells.day_id = day_scores.day_id

),

residuals as (

    select
        projections.hour_of_day,
        projections.day_id,
        projections.name_id,
        projections.user_name,
        projections.day,
        projections.flow_count,
        projections.deviation - projections.column_mean - projections.projection as residual,
        spreads.spread,
        spreads.pooled_spread,
        spreads.phi,
        -- the count the normal subspace predicts: level + scale x its prediction, in flows
        {{ netflow_pca.flows_of_stabilised(
            'projections.level + projections.scale * (projections.column_mean + projections.projection)'
        ) }} as expected_flow_count

    from projections

    inner join spreads
        on projections.hour_of_day = spreads.hour_of_day
        and projections.name_id = spreads.name_id

),

tail_terms as (

    -- P(X >= x) for X negative binomial of the predicted mean (at least 0.5) and shape 1 / phi
    -- is P(F(2x, 2 / phi) <= mean / x): Paulson's approximation of F needs a = 2 / (9 x 2x),
    -- b = 2 / (9 x 2 / phi) and the cube root of mean / x
    select
        *,
        1 / (9 * cast(flow_count as double precision)) as tail_a,
        phi / 9 as tail_b,
        cbrt(greatest(expected_flow_count, 0.5) / cast(flow_count as double precision)) as tail_ratio

    from residuals

),

evidence as (

    -- above the prediction, the count's upper tail z (at least 0: continuous where the residual
    -- changes sign) times pooled / spread (at most 1: a user more variable than the hour's count
    -- model has less evidence); at or below, residual / spread
    select
        *,
        case
            when residual > 0
                then greatest(((1 - tail_a) - (1 - tail_b) * tail_ratio) / sqrt(tail_a + tail_b * tail_ratio * tail_ratio), 0)
                    * pooled_spread / spread
            else residual / spread
        end as evidence

    from tail_terms

),

run_cells as (

    -- the cells above run_at, numbered so that a run of consecutive days shares its number
    select
        hour_of_day,
        name_id,
        day_id,
        day,
        evidence,
        day_id - row_number() over (partition by hour_of_day, name_id order by day_id) as run

    from evidence

    where evidence > {{ run.residual_run_at }}

),

runs as (

    -- a run's score: its best day, or sum / sqrt(days) when that is more and the run is no
    -- longer than a burst lasts
    select
        hour_of_day,
        name_id,
        min(day_id) as first_day_id,
        min(day) as first_day,
        max(day_id) as last_day_id,
        max(day) as last_day,
        greatest(
            max(evidence),
            case when count(*) <= {{ run.residual_max_run_days }} then sum(evidence) / sqrt(count(*)) end
        ) as run_score

    from run_cells

    group by
        hour_of_day,
        name_id,
        run

),

best_runs as (

    select * from (
        select
            runs.*,
            row_number() over (partition by hour_of_day, name_id order by run_score desc, first_day_id) as run_rank

        from runs
    ) ranked_runs

    where run_rank = 1

),

best_days as (

    -- the best run's best day (the earliest of equals), or the best day of a user without a run:
    -- the largest (in the run, evidence, -day_id) with the day's count and prediction, an
    -- aggregate per user where a rank of every cell sorted them all
    select
        evidence.hour_of_day,
        evidence.name_id,
        evidence.user_name,
        max(best_runs.run_score) as run_score,
        max(best_runs.first_day) as first_day,
        max(best_runs.last_day) as last_day,
        max(array[
            case when evidence.day_id between best_runs.first_day_id and best_runs.last_day_id then 1 else 0 end,
            evidence.evidence,
            -evidence.day_id,
            cast(evidence.flow_count as double precision),
            evidence.expected_flow_count,
            -- the day itself, as days since 1970-01-01 (exact in a double)
            cast(evidence.day - date '1970-01-01' as double precision)
        ]) as best_day

    from evidence

    left join best_runs
        on evidence.hour_of_day = best_runs.hour_of_day
        and evidence.name_id = best_runs.name_id

    group by
        evidence.hour_of_day,
        evidence.name_id,
        evidence.user_name

),

chosen_days as (

    -- best_days' largest array, unpacked
    select
        hour_of_day,
        user_name,
        run_score,
        first_day,
        last_day,
        best_day[2] as evidence,
        cast(best_day[4] as bigint) as flow_count,
        best_day[5] as expected_flow_count,
        date '1970-01-01' + cast(best_day[6] as integer) as day

    from best_days

),

final as (

    select
        chosen_days.hour_of_day,
        chosen_days.user_name,
        cast('residual' as text) as method,
        cast(coalesce(chosen_days.run_score, chosen_days.evidence) as double precision) as score,
        cast({{ run.residual_threshold }} as double precision) as threshold,
        coalesce(chosen_days.run_score, chosen_days.evidence) > {{ run.residual_threshold }} as is_anomalous,
        chosen_days.day as evidence_day,
        cast(null as integer) as evidence_component,
        chosen_days.flow_count,
        cast(chosen_days.expected_flow_count as double precision) as expected_flow_count,
        cast(normal_subspace.normal_components as integer) as kept_components,
        coalesce(chosen_days.first_day, chosen_days.day) as first_evidence_day,
        coalesce(chosen_days.last_day, chosen_days.day) as last_evidence_day

    from chosen_days

    inner join normal_subspace
        on chosen_days.hour_of_day = normal_subspace.hour_of_day
    {%- if route == 'none' %}

    where false
    {%- endif %}

)

select * from final
{%- endif %}
