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
    both cores: every user's active days, median and MAD (as if no run were left out) in two halves
    of the users, each a group-by over its cells sorted by user, in a UNION ALL that PostgreSQL runs
    as a Parallel Append under a Gather (one half in the leader, the other in a worker; a half that
    holds a window function is never run that way, whatever the costs: PostgreSQL 15, tried), one
    part on Greenplum. The windows that number the runs of active days then sort only the cells of
    the users with at most 4 x residual_max_run_days active days (the only ones whose run can be
    left out; 2.0 of 5.8 million cells at 10 M events), and only the users with a run left out
    (946) are grouped again without it. Before, one sort and two windows over every cell, then a
    second sort of them all for the medians, all in one process. CREATE TABLE AS at 10 M events,
    jit off, CPU of the statement's processes from /proc, alternated twice at load 8-11: the leader
    18.6 and 18.4 s plus 2.4 s in the worker, against 26.0 and 25.4 s in one process before; the
    same rows, bit for bit (EXCEPT ALL both ways against main's). Tried and dropped (docs/scoring.md):
    the few-day users' days as day-ordered arrays from the halves' groups instead of the windows
    (each ORDER BY aggregate sorts every group again), and 128 MB of work_mem. -#}
{%- set run = netflow_pca.run_vars() %}
{%- set halves = netflow_pca.hash_halves() %}
{%- set stabilised -%}
    2 * (sqrt(cast(flow_count as double precision) + 0.375) - sqrt(cast(0.375 as double precision)))
{%- endset %}

{#- the select of the users' levels and scales from a relation of their cells (hour_of_day,
    name_id, stabilised, in_baseline), named by baseline_cells_source: in one sort of the cells by
    user, the median of the baseline days and their values, which the MAD's group then reads in
    the same order (unnested per user: no second sort and no join) -#}
{%- set levels_of %}
    select
        hour_of_day,
        name_id,
        max(baseline_days) as baseline_days,
        case
            when max(baseline_days) >= {{ run.residual_min_active_days }} then max(median_stabilised)
            else 0
        end as level,
        case
            when max(baseline_days) >= {{ run.residual_min_active_days }}
                then greatest(1.4826 * percentile_cont(0.5) within group (order by absolute_deviation), 1)
            else 1
        end as scale

    from (
        -- a user without baseline days keeps one row (a null, which the MAD ignores)
        select
            user_baselines.hour_of_day,
            user_baselines.name_id,
            user_baselines.baseline_days,
            user_baselines.median_stabilised,
            abs(baseline_value.stabilised - user_baselines.median_stabilised) as absolute_deviation

        from (
            select
                hour_of_day,
                name_id,
                count(*) filter (where in_baseline) as baseline_days,
                percentile_cont(0.5) within group (order by stabilised) filter (where in_baseline) as median_stabilised,
                array_agg(stabilised) filter (where in_baseline) as baseline_values

            from baseline_cells_source

            group by
                hour_of_day,
                name_id
        ) as user_baselines

        cross join unnest(coalesce(user_baselines.baseline_values, array[cast(null as double precision)]))
            as baseline_value (stabilised)
    ) as baseline_deviations

    group by
        hour_of_day,
        name_id
{%- endset %}

with

pca_input as not materialized (

    select * from {{ ref('int_pca_input') }}

),

dimensions as (

    select * from {{ ref('int_pca_dimensions') }}

),
{%- for half in halves %}

user_cells_{{ loop.index }} as (

    select
        hour_of_day,
        name_id,
        -- Anscombe's transform, shifted so that an absent cell (0) stays 0
        {{ stabilised }} as stabilised,
        true as in_baseline

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}
    {%- if half %}
        and hashtext(user_name) {{ half }}
    {%- endif %}

),
{%- endfor %}

user_levels as materialized (

    -- every user's active days, and their level over all of them as if no run were left out
    -- (excluded_levels has those of the users with a run left out)
    {%- for half in halves %}

    select
        half_levels.*,
        half_levels.baseline_days as active_days

    from (
        {{- levels_of | replace('baseline_cells_source', 'user_cells_' ~ loop.index) | indent(4) }}
    ) as half_levels
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

few_day_cells as (

    -- the cells of the users with at most 4 x residual_max_run_days active days, the only ones
    -- whose run can be left out (a run of at most 2 x residual_max_run_days days holding half of
    -- their active days: candidate_runs), 2.0 of the 5.8 million cells at 10 M events
    select
        pca_input.hour_of_day,
        pca_input.day_id,
        pca_input.name_id,
        {{ stabilised | replace('flow_count', 'pca_input.flow_count') }} as stabilised,
        user_levels.active_days,
        -- the same for every day of a run of consecutive active days
        pca_input.day_id - row_number() over user_days as active_run,
        -- whether the day before or after is active too: the day is in a run of 2 days or more
        coalesce(
            lag(pca_input.day_id) over user_days = pca_input.day_id - 1
            or lead(pca_input.day_id) over user_days = pca_input.day_id + 1,
            false
        ) as in_long_run

    from pca_input

    {#- + 0: the users' CTE has no statistics, which made the planner hash the 5.8 million
        cells (estimates of 200 distinct keys on its side); without them on either side it hashes
        the smaller one, the users #}
    inner join user_levels
        on pca_input.hour_of_day + 0 = user_levels.hour_of_day
        and pca_input.name_id + 0 = user_levels.name_id

    where {{ netflow_pca.hour_filter('pca_input.hour_of_day') }}
        and user_levels.active_days <= 4 * {{ run.residual_max_run_days }}

    window user_days as (partition by pca_input.hour_of_day, pca_input.name_id order by pca_input.day_id)

),

active_runs as (

    -- the runs of 2 days or more, the only ones that can be left out: most active days are
    -- alone, and grouping them too made millions of one-day runs
    select
        hour_of_day,
        name_id,
        active_run,
        count(*) as run_days,
        min(day_id) as first_day_id,
        avg(stabilised) as run_mean,
        max(active_days) as active_days

    from few_day_cells

    where in_long_run

    group by
        hour_of_day,
        name_id,
        active_run

),

longest_runs as (

    -- each user's longest run of 2 to twice the longest burst days, the earliest of equals: only
    -- such a run can be left out
    select * from (
        select
            *,
            row_number() over (partition by hour_of_day, name_id order by run_days desc, first_day_id) as run_rank

        from active_runs

        where run_days between 2 and 2 * {{ run.residual_max_run_days }}
    ) ranked_runs

    where run_rank = 1

),

candidate_runs as (

    -- the longest runs that hold at least half of their user's active days and at most half of
    -- the hour's days: only they can be left out, and they are few (users rarely active), so
    -- that only their users' cells are grouped next
    select
        longest_runs.hour_of_day,
        longest_runs.name_id,
        longest_runs.active_run,
        longest_runs.run_mean

    from longest_runs

    inner join dimensions
        on longest_runs.hour_of_day = dimensions.hour_of_day

    where 2 * longest_runs.run_days >= longest_runs.active_days
        and 2 * longest_runs.run_days <= dimensions.row_dim

),

candidate_contexts as (

    -- the user's largest stabilised count outside the run (null: no other active day), from
    -- their cells
    select
        candidate_runs.hour_of_day,
        candidate_runs.name_id,
        candidate_runs.active_run,
        candidate_runs.run_mean,
        max(cells.stabilised) filter (where cells.active_run <> candidate_runs.active_run) as outside_max

    from candidate_runs

    inner join few_day_cells as cells
        on candidate_runs.hour_of_day = cells.hour_of_day
        and candidate_runs.name_id = cells.name_id

    group by
        candidate_runs.hour_of_day,
        candidate_runs.name_id,
        candidate_runs.active_run,
        candidate_runs.run_mean

),

excluded_runs as (

    -- left out of the user's level when it holds at least half of their active days (and at
    -- most half of the hour's days: candidate_runs) and its mean is more than 2 above every other
    -- active day: a burst lasting several days on a rarely active user must not become their
    -- level, while an intermittent user's few days of usual activity stay in it
    select
        hour_of_day,
        name_id,
        active_run

    from candidate_contexts

    where outside_max is null or run_mean > outside_max + 2

),

excluded_cells as (

    select
        few_day_cells.hour_of_day,
        few_day_cells.name_id,
        few_day_cells.stabilised,
        few_day_cells.active_run <> excluded_runs.active_run as in_baseline

    from few_day_cells

    inner join excluded_runs
        on few_day_cells.hour_of_day = excluded_runs.hour_of_day
        and few_day_cells.name_id = excluded_runs.name_id

),

excluded_levels as (

    -- the level of each user with a run left out, over their other active days
    {{- levels_of | replace('baseline_cells_source', 'excluded_cells') }}

),

levels as (

    select
        user_levels.hour_of_day,
        user_levels.name_id,
        user_levels.active_days,
        coalesce(excluded_levels.baseline_days, user_levels.baseline_days) as baseline_days,
        coalesce(excluded_levels.level, user_levels.level) as level,
        coalesce(excluded_levels.scale, user_levels.scale) as scale

    from user_levels

    left join excluded_levels
        on user_levels.hour_of_day = excluded_levels.hour_of_day
        and user_levels.name_id = excluded_levels.name_id

),

hour_users as (

    -- name_id ranks the hour's users densely from 1, so the largest is their number; from the
    -- users' levels (one row per user with cells), not from every cell
    select
        hour_of_day,
        cast(max(name_id) as bigint) as n_users

    from user_levels

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

    {#- + 0 as in few_day_cells #}
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
