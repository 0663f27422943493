{#- What the residual fit's users need that no PCA decides (docs/scoring.md, step 6): per hour
    and user with cells, the sum and the sum of squares of their fit values, their level in flows,
    what an empty cell of theirs counts toward their day, and the spread the hour's count model
    gives at their level. A model of its own so that dbt builds it beside
    int_residual_pca_components: this group-by of every cell was most of
    int_residual_user_components, which waits for the fit, and int_residual_pca_column_means now
    sums 400,000 of its rows instead of two scans of the 5.8 M cells (at 10 M events). In one
    process: beside the fit's parallel statements both cores are busy, and parallel workers cost
    more CPU in all (CREATE TABLE AS of its select on ref_sql's cells, alternated twice, load
    2.7-3.8: 3.27-3.31 s in one process against 1.75-1.93 s in the leader and 2.17-2.54 s in two
    workers); its sums then add each user's cells in the table's order, as the column means' did.
    Disabled or empty where int_residual_pca_input is (residual_scoring_route). -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_by=['name_id'],
    pre_hook=partitioned.get('pre_hook', []) + [
        "set local work_mem = '32MB'",
        'set local max_parallel_workers_per_gather = 0',
    ],
)) }}
{%- set run = netflow_pca.run_vars() %}

with

cells as (

    select * from {{ ref('int_residual_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

user_levels as (

    select
        hour_of_day,
        name_id,
        user_name,
        max(level) as level,
        max(scale) as scale,
        -- the flows the level stands for
        {{ netflow_pca.flows_of_stabilised('max(level)') }} as level_flows,
        max(n_days) as n_days,
        max(n_users) as n_users,
        max(active_days) as active_days,
        max(baseline_days) as baseline_days,
        sum(fit_value) as fit_sum,
        sum(fit_value * fit_value) as fit_squares

    from cells

    group by
        hour_of_day,
        name_id,
        user_name

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

final as (

    -- the spread the hour's count model gives at the user's level, in deviation units
    select
        user_levels.hour_of_day,
        user_levels.name_id,
        user_levels.user_name,
        user_levels.n_days,
        user_levels.n_users,
        user_levels.active_days,
        user_levels.fit_sum,
        user_levels.fit_squares,
        user_levels.level_flows,
        -- an empty cell of the user's counts toward their expected day at their level, times the
        -- share of the hour's days they are active in it (none without an established level)
        case
            when user_levels.baseline_days >= {{ run.residual_min_active_days }}
                then greatest(user_levels.level_flows, 0) * user_levels.active_days / user_levels.n_days
            else 0
        end as empty_day_flows,
        dispersions.phi,
        sqrt(1 + dispersions.phi * user_levels.level_flows) / user_levels.scale as pooled_spread

    from user_levels

    inner join dispersions
        on user_levels.hour_of_day = dispersions.hour_of_day
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
