{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_by=['user_name'],
    pre_hook=partitioned.get('pre_hook', []) + [
        'set local enable_mergejoin = off',
        "set local work_mem = '32MB'",
    ],
)) }}

{#- Steps 1-4 of the residual method (docs/scoring.md): each cell's count on a variance-stabilised
    scale, as a deviation from the user's own level in that hour (int_residual_user_levels, which
    has the history of how the levels are computed), and the value the residual PCA is fitted on,
    with individual extremes damped to the level so that they cannot shape the normal subspace.
    Built for the set-based route of the residual method only (the sql and madlib backends): on
    plpython int_residual_scores does these steps in numpy, and this model is disabled when the
    vars name plpython (residual_scoring_route), empty when 'auto' resolves to it or the var
    scoring_method leaves the method out. Two passes over the cells, each a parallel hash join of
    them with the users' levels: one keeps the few extreme cells, from which the days' and the
    users' flags come, the other writes every cell with them. One pass whose every cell was
    materialised and read again by the flags took the same CPU (17.1 and 18.6 s against 17.3 and
    17.5 s, both with the levels in a CTE), but a materialised CTE is read by the leader only. -#}
{%- set run = netflow_pca.run_vars() %}
{%- set stabilised -%}
    2 * (sqrt(cast(flow_count as double precision) + 0.375) - sqrt(cast(0.375 as double precision)))
{%- endset %}

with

pca_input as not materialized (

    select * from {{ ref('int_pca_input') }}

),

dimensions as (

    select * from {{ ref('int_pca_dimensions') }}

),

levels as not materialized (

    -- not materialised: each pass over the cells joins the analysed table in parallel workers
    select * from {{ ref('int_residual_user_levels') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

hour_users as (

    -- name_id ranks the hour's users densely from 1, so the largest is their number; from the
    -- users' levels (one row per user with cells), not from every cell
    select
        hour_of_day,
        cast(max(name_id) as bigint) as n_users

    from levels

    group by hour_of_day

),

deviations as not materialized (

    select
        cells.*,
        levels.active_days,
        levels.baseline_days,
        levels.level,
        levels.scale,
        (cells.stabilised - levels.level) / levels.scale as deviation

    from (
        select
            hour_of_day,
            day_id,
            name_id,
            user_name,
            day,
            flow_count,
            {{ stabilised }} as stabilised

        from pca_input

        where {{ netflow_pca.hour_filter('hour_of_day') }}
    ) as cells

    inner join levels
        on cells.hour_of_day = levels.hour_of_day
        and cells.name_id = levels.name_id

),

extreme_cells as materialized (

    -- the few extreme cells (13,000 of 5.8 million at 10 M events)
    select
        hour_of_day,
        day_id,
        name_id

    from deviations

    where deviation > {{ run.residual_damp_at }}

),

day_extremes as (

    select
        hour_of_day,
        day_id,
        count(*) as extreme_users

    from extreme_cells

    group by
        hour_of_day,
        day_id

),

hours as (

    -- each hour's users and days, and how many of its users extreme on a day make it collective
    select
        dimensions.hour_of_day,
        hour_users.n_users,
        dimensions.row_dim,
        greatest(
            {{ run.residual_collective_min_users }},
            {{ run.residual_collective_share }} * hour_users.n_users
        ) as collective_users

    from dimensions

    inner join hour_users
        on dimensions.hour_of_day = hour_users.hour_of_day

),

extreme_episodes as (

    -- runs of consecutive extreme days
    select
        hour_of_day,
        name_id,
        count(*) as episode_days

    from (
        select
            hour_of_day,
            name_id,
            day_id - row_number() over (partition by hour_of_day, name_id order by day_id) as episode

        from extreme_cells
    ) extreme_days

    group by
        hour_of_day,
        name_id,
        episode

),

recurring_users as (

    -- a pattern, not a burst: more episodes than residual_max_extreme_days, or one longer than a
    -- burst lasts (a change of level)
    select
        hour_of_day,
        name_id,
        count(*) > {{ run.residual_max_extreme_days }}
            or max(episode_days) > {{ run.residual_max_run_days }} as is_recurring

    from extreme_episodes

    group by
        hour_of_day,
        name_id

),

extremes as (

    select
        deviations.*,
        deviations.deviation > {{ run.residual_damp_at }} as is_extreme,
        -- a day on which many of the hour's users are extreme is a shared event, part of the normal
        coalesce(day_extremes.extreme_users, 0) >= hours.collective_users as is_collective,
        coalesce(recurring_users.is_recurring, false) as is_recurring,
        -- the rows of the hour's fit, the PCA's row_dim
        hours.row_dim as n_days,
        hours.n_users

    from deviations

    inner join hours
        on deviations.hour_of_day = hours.hour_of_day

    left join day_extremes
        on deviations.hour_of_day = day_extremes.hour_of_day
        and deviations.day_id = day_extremes.day_id

    left join recurring_users
        on deviations.hour_of_day = recurring_users.hour_of_day
        and deviations.name_id = recurring_users.name_id

),

final as (

    select
        hour_of_day,
        day_id,
        name_id,
        user_name,
        day,
        flow_count,
        stabilised,
        active_days,
        baseline_days,
        level,
        scale,
        deviation,
        is_extreme,
        is_collective,
        is_recurring,
        n_days,
        n_users,
        case
            when is_extreme and not is_collective and not is_recurring then 0
            else deviation
        end as fit_value

    from extremes
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
