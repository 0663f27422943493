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
    scale, as a deviation from the user's own level in that hour, and the value the residual PCA
    is fitted on, with individual extremes damped to the level so that they cannot shape the
    normal subspace. Built for the set-based route of the residual method only (the sql and madlib
    backends): on plpython int_residual_scores does these steps in numpy, and this model is
    disabled when the vars name plpython (residual_scoring_route), empty when 'auto' resolves to
    it or the var scoring_method leaves the method out. Its work is per user, so most of it runs on
    both cores: every user's level and scale, with the run left out where one is, in two halves
    of the users, each a chain of group-bys over its cells sorted once by user (the values unnested
    per user in that order for the MAD, and again for the few users whose run is left out), in a
    UNION ALL that PostgreSQL runs as a Parallel Append under a Gather (one half in the leader,
    the other in a worker), one part on Greenplum. A half that holds a window function, or a
    lateral subquery (its outer references are parameters, which workers are not passed), is
    never run that way, whatever the costs (PostgreSQL 15, tried): the run that can be left out
    (docs/scoring.md, step 2) is found in the user's days as bits (bit_or of one bit per day:
    day ids run from 1 to at most lookback_days, which column_values_int_window_days guards
    before this model runs), the first run of at least half of their active
    days, which is then their longest, the earliest of equals. Before, the leader alone numbered
    the runs of the users with at most 4 x residual_max_run_days active days with windows (a
    fourth scan of the cells and a sort of 2.0 of their 5.8 million at 10 M events), then grouped
    the 946 users with a run left out again. CREATE TABLE AS at 10 M events, jit off, CPU of the
    statement's processes from /proc (cpu2.py), alternated twice at load 3: the leader 12.7 and
    12.3 s plus 3.9 s in the worker, against 15.3 and 13.8 s plus 1.9 and 1.7 s; the same rows,
    bit for bit (EXCEPT ALL both ways against main's). Tried and dropped (docs/scoring.md):
    the few-day users' days as day-ordered arrays (each ORDER BY aggregate sorts every group
    again), and 128 MB of work_mem.
-#}
{%- set run = netflow_pca.run_vars() %}
{%- set halves = netflow_pca.hash_halves() %}
{%- set stabilised -%}
    2 * (sqrt(cast(flow_count as double precision) + 0.375) - sqrt(cast(0.375 as double precision)))
{%- endset %}

with

pca_input as not materialized (

    select * from {{ ref('int_pca_input') }}

),

dimensions as not materialized (

    select * from {{ ref('int_pca_dimensions') }}

),
{%- for half in halves %}

user_cells_{{ loop.index }} as (

    select
        hour_of_day,
        day_id,
        name_id,
        -- Anscombe's transform, shifted so that an absent cell (0) stays 0
        {{ stabilised }} as stabilised

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}
    {%- if half %}
        and hashtext(user_name) {{ half }}
    {%- endif %}

),

user_days_{{ loop.index }} as (

    -- each user's active days: their number, median, values and day ids (in one order), and the
    -- run that can be left out of their level: only the user's longest run of consecutive active
    -- days (the earliest of equals) that lasts 2 to twice the longest burst days and holds at
    -- least half of their active days (at most half of the hour's days: levels), hence the first
    -- run of at least half of their active days in their days as bits (day d the d-th from the
    -- left; bits and no window: PostgreSQL never runs a half that holds one in a worker)
    select
        *,
        case
            when run_first_day_id > 0 and run_days <= 2 * {{ run.residual_max_run_days }}
                then run_first_day_id
        end as run_from_day_id,
        case
            when run_first_day_id > 0 and run_days <= 2 * {{ run.residual_max_run_days }}
                then run_first_day_id + run_days - 1
        end as run_to_day_id

    from (
        select
            *,
            position('0' in substr(active_day_bits || '0', run_first_day_id)) - 1 as run_days

        from (
            select
                hour_of_day,
                name_id,
                count(*) as active_days,
                percentile_cont(0.5) within group (order by stabilised) as active_median,
                array_agg(stabilised) as active_values,
                array_agg(day_id) as active_day_ids,
                cast(bit_or(cast(B'1' as bit({{ run.lookback_days }})) >> (day_id - 1)) as text) as active_day_bits,
                case
                    when count(*) <= 4 * {{ run.residual_max_run_days }} then position(
                        repeat('1', greatest(2, cast((count(*) + 1) / 2 as integer)))
                        in cast(bit_or(cast(B'1' as bit({{ run.lookback_days }})) >> (day_id - 1)) as text)
                    )
                end as run_first_day_id

            from user_cells_{{ loop.index }}

            group by
                hour_of_day,
                name_id
        ) as user_groups
    ) as user_runs

),

user_spreads_{{ loop.index }} as (

    -- in the users' order (the values unnested per user: no second sort and no join), the MAD
    -- over all active days, and for a user with a run that can be left out the run's mean, the
    -- largest stabilised count outside it (null: no other active day) and the median of the
    -- other days
    select
        user_days.hour_of_day,
        user_days.name_id,
        max(user_days.active_days) as active_days,
        max(user_days.active_median) as active_median,
        percentile_cont(0.5) within group (order by abs(active_cells.stabilised - user_days.active_median)) as active_mad,
        max(user_days.run_from_day_id) as run_from_day_id,
        max(user_days.run_to_day_id) as run_to_day_id,
        max(user_days.run_days) as run_days,
        avg(active_cells.stabilised) filter (where active_cells.in_run) as run_mean,
        max(active_cells.stabilised) filter (where not active_cells.in_run) as outside_max,
        count(*) filter (where not active_cells.in_run) as outside_days,
        percentile_cont(0.5) within group (order by active_cells.stabilised) filter (where not active_cells.in_run) as outside_median,
        max(user_days.active_values) filter (where user_days.run_from_day_id is not null) as run_user_values,
        max(user_days.active_day_ids) filter (where user_days.run_from_day_id is not null) as run_user_day_ids

    from user_days_{{ loop.index }} as user_days

    cross join lateral (
        select
            stabilised,
            day_id between user_days.run_from_day_id and user_days.run_to_day_id as in_run

        from unnest(user_days.active_values, user_days.active_day_ids) as active_cells (stabilised, day_id)
    ) as active_cells

    group by
        user_days.hour_of_day,
        user_days.name_id

),

user_levels_{{ loop.index }} as (

    -- each user's level and scale over all their active days, and over the days outside the run
    -- when it is left out: its mean more than 2 above every other active day (a burst lasting
    -- several days on a rarely active user must not become their level, while an intermittent
    -- user's few days of usual activity stay in it); the MAD of those other days from their
    -- values again, for those few users only
    select
        user_spreads.hour_of_day,
        user_spreads.name_id,
        max(user_spreads.active_days) as active_days,
        max(user_spreads.active_median) as active_median,
        max(user_spreads.active_mad) as active_mad,
        max(user_spreads.run_days) filter (where run_cells.stabilised is not null) as run_days,
        max(user_spreads.outside_days) as outside_days,
        max(user_spreads.outside_median) as outside_median,
        percentile_cont(0.5) within group (order by abs(run_cells.stabilised - user_spreads.outside_median))
            filter (where run_cells.day_id not between user_spreads.run_from_day_id and user_spreads.run_to_day_id) as outside_mad

    from user_spreads_{{ loop.index }} as user_spreads

    left join lateral unnest(
        case when user_spreads.outside_max is null or user_spreads.run_mean > user_spreads.outside_max + 2 then user_spreads.run_user_values end,
        case when user_spreads.outside_max is null or user_spreads.run_mean > user_spreads.outside_max + 2 then user_spreads.run_user_day_ids end
    ) as run_cells (stabilised, day_id) on true

    group by
        user_spreads.hour_of_day,
        user_spreads.name_id

),
{%- endfor %}

user_levels as (
    {%- for half in halves %}

    select * from user_levels_{{ loop.index }}
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

levels as materialized (

    -- the run is left out only when it holds at most half of the hour's days
    select
        hour_of_day,
        name_id,
        active_days,
        baseline_days,
        case when baseline_days >= {{ run.residual_min_active_days }} then median_stabilised else 0 end as level,
        case when baseline_days >= {{ run.residual_min_active_days }} then greatest(1.4826 * mad, 1) else 1 end as scale

    from (
        select
            user_levels.hour_of_day,
            user_levels.name_id,
            user_levels.active_days,
            case when run_left_out then user_levels.outside_days else user_levels.active_days end as baseline_days,
            case when run_left_out then user_levels.outside_median else user_levels.active_median end as median_stabilised,
            case when run_left_out then user_levels.outside_mad else user_levels.active_mad end as mad

        from user_levels

        inner join dimensions
            on user_levels.hour_of_day = dimensions.hour_of_day

        cross join lateral (
            select coalesce(2 * user_levels.run_days <= dimensions.row_dim, false) as run_left_out
        ) as run_choice
    ) as user_choices

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

deviations as (

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

    {#- + 0: the users' CTE has no statistics, which made the planner hash the 5.8 million cells
        (estimates of 200 distinct keys on its side); without them on either side it hashes the
        smaller one, the users #}
    inner join levels
        on cells.hour_of_day + 0 = levels.hour_of_day
        and cells.name_id + 0 = levels.name_id

),

extremes as (

    select
        *,
        deviation > {{ run.residual_damp_at }} as is_extreme

    from deviations

),

day_extremes as (

    select
        hour_of_day,
        day_id,
        count(*) filter (where is_extreme) as extreme_users

    from extremes

    group by
        hour_of_day,
        day_id

),

collective_days as materialized (

    -- a day on which many of the hour's users are extreme is a shared event, part of the normal;
    -- with the hour's users and days, so that each cell meets one row of its day for all three
    select
        day_extremes.hour_of_day,
        day_extremes.day_id,
        day_extremes.extreme_users >= greatest(
            {{ run.residual_collective_min_users }},
            {{ run.residual_collective_share }} * hour_users.n_users
        ) as is_collective,
        hour_users.n_users,
        dimensions.row_dim

    from day_extremes

    inner join hour_users
        on day_extremes.hour_of_day = hour_users.hour_of_day

    inner join dimensions
        on day_extremes.hour_of_day = dimensions.hour_of_day

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

        from extremes

        where is_extreme
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
        extremes.baseline_days,
        extremes.level,
        extremes.scale,
        extremes.deviation,
        extremes.is_extreme,
        collective_days.is_collective,
        coalesce(recurring_users.is_recurring, false) as is_recurring,
        -- the rows of the hour's fit, the PCA's row_dim
        collective_days.row_dim as n_days,
        collective_days.n_users,
        case
            when extremes.is_extreme and not collective_days.is_collective and not coalesce(recurring_users.is_recurring, false) then 0
            else extremes.deviation
        end as fit_value

    from extremes

    inner join collective_days
        on extremes.hour_of_day = collective_days.hour_of_day
        and extremes.day_id = collective_days.day_id

    left join recurring_users
        on extremes.hour_of_day = recurring_users.hour_of_day
        and extremes.name_id = recurring_users.name_id
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
