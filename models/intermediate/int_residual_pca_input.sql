{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    distributed_by=['user_name'],
    pre_hook=partitioned.get('pre_hook', []) + ["set local work_mem = '32MB'"],
)) }}

{#- Steps 1-4 of the residual method (docs/scoring.md): each cell's count on a variance-stabilised
    scale, as a deviation from the user's own level in that hour, and the value the residual PCA
    is fitted on, with individual extremes damped to the level so that they cannot shape the
    normal subspace. Built for the set-based route of the residual method only (the sql and madlib
    backends): on plpython int_residual_scores does these steps in numpy, and this model is empty,
    as it is when the var scoring_method leaves the method out. -#}
{%- set run = netflow_pca.run_vars() %}

with

pca_input as (

    select * from {{ ref('int_pca_input') }}

),

dimensions as (

    select * from {{ ref('int_pca_dimensions') }}

),

cells as (

    select
        hour_of_day,
        day_id,
        name_id,
        user_name,
        day,
        flow_count,
        -- Anscombe's transform, shifted so that an absent cell (0) stays 0
        2 * (sqrt(cast(flow_count as double precision) + 0.375) - sqrt(cast(0.375 as double precision))) as stabilised

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

hour_users as (

    -- name_id ranks the hour's users densely from 1, so the largest is their number
    select
        hour_of_day,
        cast(max(name_id) as bigint) as n_users

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
            when medians.active_days >= {{ run.residual_min_active_days }} then medians.median_stabilised
            else 0
        end as level,
        case
            when medians.active_days >= {{ run.residual_min_active_days }}
                then greatest(
                    1.4826 * percentile_cont(0.5) within group (order by abs(cells.stabilised - medians.median_stabilised)),
                    1
                )
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
        (cells.stabilised - levels.level) / levels.scale as deviation

    from cells

    inner join levels
        on cells.hour_of_day = levels.hour_of_day
        and cells.name_id = levels.name_id

),

extremes as (

    select
        *,
        deviation > {{ run.residual_damp_at }} as is_extreme

    from deviations

),

collective_days as (

    -- a day on which many of the hour's users are extreme is a shared event, part of the normal
    select
        extremes.hour_of_day,
        extremes.day_id,
        count(*) filter (where extremes.is_extreme) >= greatest(
            {{ run.residual_collective_min_users }},
            {{ run.residual_collective_share }} * hour_users.n_users
        ) as is_collective

    from extremes

    inner join hour_users
        on extremes.hour_of_day = hour_users.hour_of_day

    group by
        extremes.hour_of_day,
        extremes.day_id,
        hour_users.n_users

),

recurring_users as (

    select
        hour_of_day,
        name_id,
        count(*) filter (where is_extreme) > {{ run.residual_max_extreme_days }} as is_recurring

    from extremes

    group by
        hour_of_day,
        name_id

),

final as (

    select
        extremes.hour_of_day,
        extremes.day_id,
        extremes.name_id,
        extremes.user_name,
        extremes.day,
        extremes.flow_count,
        extremes.stabilised,
        extremes.active_days,
        extremes.level,
        extremes.scale,
        extremes.deviation,
        extremes.is_extreme,
        collective_days.is_collective,
        recurring_users.is_recurring,
        -- the rows of the hour's fit, the PCA's row_dim
        dimensions.row_dim as n_days,
        hour_users.n_users,
        case
            when extremes.is_extreme and not collective_days.is_collective and not recurring_users.is_recurring then 0
            else extremes.deviation
        end as fit_value

    from extremes

    inner join hour_users
        on extremes.hour_of_day = hour_users.hour_of_day

    inner join dimensions
        on extremes.hour_of_day = dimensions.hour_of_day

    inner join collective_days
        on extremes.hour_of_day = collective_days.hour_of_day
        and extremes.day_id = collective_days.day_id

    inner join recurring_users
        on extremes.hour_of_day = recurring_users.hour_of_day
        and extremes.name_id = recurring_users.name_id
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
