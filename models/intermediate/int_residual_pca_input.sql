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
    The flags need the extreme cells first (about 13,000 of 5.8 million at 10 M events): a pass
    over the cells in parallel workers, the users' levels and scales passed to them as an
    initplan array, each worker grouping its extreme cells into their users' extreme days as
    bits, from which come each day's count of extreme users (is_collective) and each user's
    episodes, the runs of 1 (is_recurring), both as arrays too. The last pass, in the leader,
    joins each cell to its user's level and reads its day's and user's flags from those arrays.
    Before, the leader kept every cell with its deviation in a CTE (500 MB spilled to disk) and
    read it three times: for the day counts, the episodes and the final joins to both. CREATE
    TABLE AS on main's tables (the same rows, EXCEPT ALL both ways), alternated three times at
    load 1.4 to 1.8: 19.1, 19.4 and 20.4 s against 22.6, 25.0 and 23.1 s (the leader 18.2, 18.7
    and 17.6 s against 22.6, 23.3 and 19.6 s); quieter, at load 2, 14.9 and 15.1 s against 15.4
    and 16.1 s (no difference beyond the noise in builds). The last pass in workers as well (every cell's
    user from arrays, no join): no faster, the leader receiving through the Gather the rows it
    writes (docs/scoring.md).
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

hour_days as (

    -- every day of the hour's matrix: day_id runs from 1 to its rows, row_dim
    select
        dimensions.hour_of_day,
        hour_day.day_id

    from dimensions

    cross join lateral generate_series(1, dimensions.row_dim) as hour_day (day_id)

    where {{ netflow_pca.hour_filter('dimensions.hour_of_day') }}

),

hour_places as (

    -- per hour (element hour_of_day + 1): the users and days of the hours before it, where its
    -- own start in the arrays below, its users and its days (the fit's row_dim, hour_days' rows)
    select
        array_agg(coalesce(hour_counts.users_before, 0) order by hours.hour_of_day) as user_places,
        array_agg(coalesce(hour_counts.days_before, 0) order by hours.hour_of_day) as day_places,
        array_agg(hour_counts.n_users order by hours.hour_of_day) as n_users,
        array_agg(hour_counts.n_days order by hours.hour_of_day) as n_days

    from generate_series(0, 23) as hours (hour_of_day)

    left join (
        select
            hour_users.hour_of_day,
            hour_users.n_users,
            dimensions.row_dim as n_days,
            cast(sum(hour_users.n_users) over (order by hour_users.hour_of_day) - hour_users.n_users as integer) as users_before,
            cast(sum(dimensions.row_dim) over (order by hour_users.hour_of_day) - dimensions.row_dim as integer) as days_before

        from hour_users

        inner join dimensions
            on hour_users.hour_of_day = dimensions.hour_of_day
    ) as hour_counts
        on hours.hour_of_day = hour_counts.hour_of_day

),

user_arrays as (

    -- every user's level and scale in one two-dimensional array (one sort, not one per
    -- aggregate), in (hour, name_id) order: the pass that finds the extreme cells reads a cell's
    -- through scalar subqueries, initplans that the leader runs once and hands to the parallel
    -- workers (as int_residual_expected_counts' day scores), where a join to the levels (a CTE,
    -- read by the leader only) keeps a pass in the leader
    select
        array_agg(array[level, scale] order by hour_of_day, name_id) as level_scales

    from levels

),

cells as not materialized (

    -- each cell with its place in the users' arrays (name_id ranks the hour's users densely from
    -- 1, as day_id its days)
    select
        hour_of_day,
        day_id,
        name_id,
        user_name,
        day,
        flow_count,
        {{ stabilised }} as stabilised,
        (select user_places from hour_places)[hour_of_day + 1] + name_id as user_place

    from pca_input

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

extreme_users as (

    -- the users with extreme cells (about 13,000 of 5.8 million cells at 10 M events) and their
    -- extreme days as bits (day d the d-th from the left), from a pass over the cells in parallel
    -- workers, each grouping its share (a few rows, not the cells, pass through the Gather)
    select
        hour_of_day,
        name_id,
        bit_or(cast(B'1' as bit({{ run.lookback_days }})) >> (day_id - 1)) as extreme_day_bits

    from cells

    where (stabilised - (select level_scales from user_arrays)[user_place][1]) / (select level_scales from user_arrays)[user_place][2]
        > {{ run.residual_damp_at }}

    group by
        hour_of_day,
        name_id

),

day_extremes as (

    select
        hour_days.hour_of_day,
        hour_days.day_id,
        count(extreme_days.day_id) as extreme_users

    from hour_days

    left join (
        select
            extreme_users.hour_of_day,
            extreme_day.day_id

        from extreme_users

        cross join lateral generate_series(1, length(extreme_users.extreme_day_bits)) as extreme_day (day_id)

        where get_bit(extreme_users.extreme_day_bits, extreme_day.day_id - 1) = 1
    ) as extreme_days
        on hour_days.hour_of_day = extreme_days.hour_of_day
        and hour_days.day_id = extreme_days.day_id

    group by
        hour_days.hour_of_day,
        hour_days.day_id

),

collective_days as materialized (

    -- a day on which many of the hour's users are extreme is a shared event, part of the normal;
    -- every day of the hours built in one array, in (hour, day_id) order. Materialised, as
    -- recurring_users: final names each flag twice, and each copy of its scalar subquery would
    -- otherwise compute the array again
    select
        array_agg(
            day_extremes.extreme_users >= greatest(
                {{ run.residual_collective_min_users }},
                {{ run.residual_collective_share }} * hour_users.n_users
            )
            order by day_extremes.hour_of_day, day_extremes.day_id
        ) as is_collective

    from day_extremes

    inner join hour_users
        on day_extremes.hour_of_day = hour_users.hour_of_day

),

recurring_users as materialized (

    -- a pattern, not a burst: more episodes (runs of consecutive extreme days, the runs of 1 in
    -- the bits) than residual_max_extreme_days, or one longer than a burst lasts (a change of
    -- level); every user in one array, in (hour, name_id) order
    select
        array_agg(
            coalesce(user_recurrences.is_recurring, false)
            order by levels.hour_of_day, levels.name_id
        ) as is_recurring

    from levels

    left join (
        select
            extreme_users.hour_of_day,
            extreme_users.name_id,
            count(*) > {{ run.residual_max_extreme_days }}
                or max(length(episode.days)) > {{ run.residual_max_run_days }} as is_recurring

        from extreme_users

        cross join lateral regexp_split_to_table(trim('0' from cast(extreme_users.extreme_day_bits as text)), '0+') as episode (days)

        group by
            extreme_users.hour_of_day,
            extreme_users.name_id
    ) as user_recurrences
        on levels.hour_of_day = user_recurrences.hour_of_day
        and levels.name_id = user_recurrences.name_id

),

deviations as (

    -- the second pass over the cells, in the leader (it stores every row: a Gather would hand
    -- it as many rows as it writes), each cell joined to its user's level; its day's and user's
    -- flags from the arrays
    select
        cells.hour_of_day,
        cells.day_id,
        cells.name_id,
        cells.user_name,
        cells.day,
        cells.flow_count,
        cells.stabilised,
        levels.active_days,
        levels.baseline_days,
        levels.level,
        levels.scale,
        (cells.stabilised - levels.level) / levels.scale as deviation,
        (select is_collective from collective_days)[(select day_places from hour_places)[cells.hour_of_day + 1] + cells.day_id] as is_collective,
        (select is_recurring from recurring_users)[cells.user_place] as is_recurring,
        (select n_days from hour_places)[cells.hour_of_day + 1] as n_days,
        (select n_users from hour_places)[cells.hour_of_day + 1] as n_users

    from cells

    {#- + 0: the users' CTE has no statistics, which made the planner hash the 5.8 million cells
        (estimates of 200 distinct keys on its side); without them on either side it hashes the
        smaller one, the users #}
    inner join levels
        on cells.hour_of_day + 0 = levels.hour_of_day
        and cells.name_id + 0 = levels.name_id

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
        deviation > {{ run.residual_damp_at }} as is_extreme,
        is_collective,
        is_recurring,
        -- the rows of the hour's fit, the PCA's row_dim
        n_days,
        n_users,
        case
            when deviation > {{ run.residual_damp_at }} and not is_collective and not is_recurring then 0
            else deviation
        end as fit_value

    from deviations
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
