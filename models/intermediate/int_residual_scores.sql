{#- The residual method's scores (docs/scoring.md, steps 5-8 and "The whole day"): per hour and
    user, the score of their best run of consecutive days with evidence (an active cell's count
    against the normal subspace's prediction times the user's day factor from their other hours)
    above residual_run_at, or of their best day, the run's first and last day, its best day, that
    day's count and the count expected. Every hour's evidence needs every hour's fit: a run of one
    hour reads the other hours' cells as the last run of those hours left them. On the plpython
    backend one PL/Python function does every step in numpy from every hour's cells (int_pca_input's,
    from int_hourly_counts and int_window_days); on the others it is set-based SQL over the
    residual PCA models and int_residual_user_components (residual_scoring_route). Empty when the
    var scoring_method leaves the method out. The planner misjudges the sizes of CTEs and function
    results, and picks merge joins that rescan the cells' projections millions of times (16 s
    instead of 2 s for 40,000 cells) or a nested loop of every user's best day over every cell
    (minutes): hash joins only, for this model's transaction (JIT, which the resulting cost
    estimates trigger for nothing, is off for every model: dbt_project.yml). work_mem holds the hash of every user's row
    of int_residual_user_components (about 40 MB at 20,000 users) in one batch: at 32 MB half the
    cells were written to disk and read back. No sort is allowed where a hash does (enable_sort
    off): on the numpy route every hour's cells go to the function at once, aggregated by a hash on
    the user's name (one bytea a user), where the planner, costing each user's bytea at 8 kB,
    otherwise sorted the 5.8 million cells by name in the database's collation (12 s against 2 s for
    the hash); its hash of 20,000 users' bytea states takes 86 MB, but PostgreSQL counts 8 kB for
    each internal aggregate state and, at 64 MB, spilled a fifth of the users (5 batches): at 128 MB
    it stays in one batch, 9.7-10.0 s of CPU against 10.1-10.8 s (the statement alone, alternated,
    quiet); on the set-based route each user's evidence is gathered by a hash on (hour, user,
    gathered day) rather than after an external sort of the 5.8 million cells' evidence (300 MB on
    disk), and the cells' day sums come from group-bys in two halves of the users on both cores
    (corrected) rather than windows over a sort of every cell by user and day in one process
    (docs/scoring.md has the figures), the leader only gathering them
    (parallel_leader_participation off: in a half of its own it read the other half's cells only
    between its own). On the numpy route, numbering the users instead (a scan for the names, a
    join of every cell to them, an aggregate by hour) took 1 s more CPU, and a sort
    of the cells by hour to disk when the planner took the names for 10 rows. The function returns
    each hour's users as the text of arrays, unnested here: PL/Python turns every value of
    a returned row into a datum through its text, 2.4 s for 400,000 rows of 9 columns, where
    formatting and parsing the arrays took 0.5 s; the dates are the window's first day plus the
    returned offsets, not joins to int_window_days. At 10 million events this model's statement
    took 9.7 s of backend CPU against 12.9 s (plus two parallel workers' for the names) before;
    with the function on each hour's active cells rather than dense matrices (its docstring),
    6.9-7.7 s against 9.3-10.1 s (the statement's select alone, alternated, load 4-5; 8.7-9.8
    against 12.0-13.0 at load 10): of it about 2.5 s the aggregate of the cells by user, 3.8 s the
    function's numpy, 1 s unnesting its arrays. -#}
{#- the route's three settings in one hook, which resolves the route once (each resolution asks
    the server twice) -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{#- not analysed after the build (the intermediate models' post-hook): its one reader,
    user_outlier_scores, appends it whole to the loading scores in a plain scan, whatever its
    statistics, and the analyze cost 0.1-0.2 s between the scores and the marts -#}
{{ config(**dict(
    partitioned,
    distributed_by=['user_name'],
    meta={'analyze': false},
    pre_hook=partitioned.get('pre_hook', []) + [
        'set local enable_mergejoin = off',
        'set local enable_nestloop = off',
        'set local enable_sort = off',
        "{% if netflow_pca.residual_scoring_route() == 'numpy' %}set local work_mem = '128MB'{% else %}"
            ~ "set local work_mem = '64MB'; set local min_parallel_table_scan_size = '1TB'; "
            ~ "{{ netflow_pca.set_local_where_known('parallel_leader_participation', 'off') }}{% endif %}",
    ],
)) }}
{%- set run = netflow_pca.run_vars() %}
{%- set route = netflow_pca.residual_scoring_route() %}
{%- set most_components = netflow_pca.residual_most_components() %}
{%- set halves = netflow_pca.hash_halves() %}
-- depends_on: {{ ref('int_hourly_counts') }}, {{ ref('int_window_days') }}
{%- if netflow_pca.residual_scoring_route(from_vars=true) != 'numpy' %}, {{ ref('int_residual_expected_counts') }}, {{ ref('int_residual_user_components') }}{% endif %}

{% if route == 'numpy' -%}
with

{#- every hour's cells, whatever hours the run builds (each hour's evidence needs its users' other
    hours; a one-hour run reads them as the last build of those hours left them), straight from the
    counts and the window's days, as int_pca_input windows them, not from int_pca_input, so that
    the scoring runs beside int_pca_input and its tests instead of after them #}
hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

),

window_days as (

    select * from {{ ref('int_window_days') }}

),

{#- the days' numbers are offsets from the window's first day, both in the cells and in what the
    function returns #}
window_bounds as (

    select
        min(day) as first_day,
        max(day) as last_day

    from window_days

),

{#- each hour's rows, the window's days by day_id, as day numbers (int4send, days since
    1970-01-01): the function matches the cells' days to them #}
hour_rows as (

    select
        hour_of_day,
        string_agg(int4send(cast(day - date '1970-01-01' as integer)), '' order by day_id) as hour_days

    from window_days

    group by hour_of_day

),

rows_of_hours as (

    select
        array_agg(hour_of_day order by hour_of_day) as row_hours,
        array_agg(hour_days order by hour_of_day) as hour_days

    from hour_rows

),

user_cells as (

    -- each user's cells of the window's days in one bytea, a big-endian 64-bit integer a cell,
    -- (count << 32) | (hour << 16) | day offset: one hash aggregate on the name and one
    -- aggregate a cell. Numbering the users for the function instead took a scan of the counts for
    -- the names and a join of every cell to them, which the planner, taking the names for 10 rows,
    -- followed with a sort of the millions of cells by hour (spilled to disk)
    select
        hourly_counts.user_name,
        string_agg(int8send(
            (cast(cast(hourly_counts.flow_count as integer) as bigint) << 32)
            | (cast(hourly_counts.hour_of_day as bigint) << 16)
            | cast(cast(hourly_counts.day - window_bounds.first_day as smallint) as bigint)
        ), '') as cells

    from hourly_counts

    cross join window_bounds

    where hourly_counts.day between window_bounds.first_day and window_bounds.last_day

    group by hourly_counts.user_name

),

{#- the names and their cells in the same order (one aggregation feeds them), and the names
    again in int_pca_input's name_id order, which numbers the users (a sort of the names alone) #}
users as (

    select
        array_agg(user_name) as user_names,
        array_agg(cells) as user_cells,
        array_agg(user_name order by user_name collate "C") as names_in_order

    from user_cells

),

scored_hours as materialized (

    -- materialised: the function runs once, never again for each row it is joined to
    select scored.*

    from users

    cross join rows_of_hours

    cross join window_bounds

    cross join lateral {{ netflow_pca.quote_identifier(run.pca_functions_schema) }}.pca_residual_scores_numpy(
        users.user_names,
        users.user_cells,
        users.names_in_order,
        window_bounds.first_day - date '1970-01-01',
        rows_of_hours.row_hours,
        rows_of_hours.hour_days,
        array[{{ netflow_pca.selected_hours() | join(', ') }}],
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

{#- the user numbers' names: the places in names_in_order #}
numbered_users as (

    select
        numbered.user_name,
        cast(numbered.user_id as integer) as user_id

    from users

    cross join unnest(users.names_in_order) with ordinality as numbered (user_name, user_id)

),

{#- each hour's arrays as rows, a user a row #}
best_days as (

    select
        scored_hours.hour_of_day,
        scored_hours.normal_components,
        best.user_id,
        best.day_offsets,
        best.flow_count,
        best.score,
        best.expected_flow_count

    from scored_hours

    cross join lateral unnest(
        cast(scored_hours.user_ids as integer[]),
        cast(scored_hours.day_offsets as bigint[]),
        cast(scored_hours.flow_counts as bigint[]),
        cast(scored_hours.scores as double precision[]),
        cast(scored_hours.expected_flow_counts as double precision[])
    ) as best (user_id, day_offsets, flow_count, score, expected_flow_count)

),

final as (

    select
        best_days.hour_of_day,
        numbered_users.user_name,
        cast('residual' as text) as method,
        best_days.score,
        cast({{ run.residual_threshold }} as double precision) as threshold,
        best_days.score > {{ run.residual_threshold }} as is_anomalous,
        window_bounds.first_day + cast((best_days.day_offsets >> 21) & 2097151 as integer) as evidence_day,
        cast(null as integer) as evidence_component,
        best_days.flow_count,
        best_days.expected_flow_count,
        best_days.normal_components as kept_components,
        window_bounds.first_day + cast(best_days.day_offsets >> 42 as integer) as first_evidence_day,
        window_bounds.first_day + cast(best_days.day_offsets & 2097151 as integer) as last_evidence_day

    from best_days

    inner join numbered_users
        on best_days.user_id = numbered_users.user_id

    cross join window_bounds

)

select * from final
{%- else -%}
with

hour_users as not materialized (

    select * from {{ ref('int_residual_user_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

corrected as materialized (

    -- every cell of the hours this run builds with its day-corrected expected count and its
    -- stabilised distance from it, in two halves of the users (a hash of the name, as
    -- int_hourly_counts; one part on Greenplum), a UNION ALL that PostgreSQL runs as a Parallel
    -- Append under a Gather (each half in a worker), where windows over one sort of every cell by
    -- user and day (never run in parallel) took them all in one process. Nothing in a half may
    -- keep it out of a worker (no CTE, no scalar subquery, which is an initplan, no offset; a
    -- partial scan would put a Gather there, so the model's pre-hook turns partial scans off) or
    -- make the planner choose by the penalty of what the model disables (a cross join is a nested
    -- loop): the leader, which before computed the corrected counts and joined the daylight-saving
    -- hours, now only gathers them. Materialised: read by the per-user sums and again by the
    -- evidence, computed once
    {%- for half in halves %}
    {%- set in_half -%}
        {%- if half %}hashtext(user_name) {{ half }}{% else %}true{% endif -%}
    {%- endset %}

    -- the cell's expected count times (F - x + 10) / (E - c + 10), F and E its user's flows and
    -- expected flows of the day over every hour's cells (a one-hour run reads the other hours'
    -- stored rows): E with every usual hour empty (the sum of the user's hours' empty-cell flows),
    -- plus what each active cell's expected count (at least 0) adds beyond an empty cell's, less
    -- the empty cells of the hours their day does not have. 10 flows of prior keep a light user's
    -- factor near 1; the cell's own hour is left out, so that a burst does not explain itself away
    select
        hour_of_day,
        day_id,
        name_id,
        day,
        flow_count,
        residual,
        is_damped,
        expected_flow_count,
        corrected_flow_count,
        2 * (sqrt(cast(flow_count as double precision) + 0.375) - sqrt(greatest(corrected_flow_count, 0) + 0.375))
            as corrected_distance

    from (
        select
            expected_cells.hour_of_day,
            expected_cells.day_id,
            expected_cells.name_id,
            expected_cells.day,
            expected_cells.flow_count,
            expected_cells.residual,
            expected_cells.is_damped,
            expected_cells.expected_flow_count,
            expected_cells.expected_flow_count
                * (user_day_sums.day_flows - expected_cells.flow_count + 10)
                / (
                    user_totals.empty_flows + user_day_sums.expected_extra
                    - coalesce(user_totals.missing_flows[array_position(user_totals.missing_days, expected_cells.day)], 0)
                    - greatest(expected_cells.expected_flow_count, 0) + 10
                ) as corrected_flow_count

        from {{ ref('int_residual_expected_counts') }} as expected_cells

        inner join (
            select
                user_name,
                day,
                sum(flow_count) as day_flows,
                sum(greatest(expected_flow_count, 0) - empty_day_flows) as expected_extra

            from {{ ref('int_residual_expected_counts') }}

            where {{ in_half }}

            group by
                user_name,
                day
        ) as user_day_sums
            on expected_cells.user_name = user_day_sums.user_name
            and expected_cells.day = user_day_sums.day

        inner join (
            select
                empty_totals.user_name,
                empty_totals.empty_flows,
                user_missing_hours.missing_days,
                user_missing_hours.missing_flows

            from (
                -- from the (hour, user) rows, 400,000, rather than a third scan of the 5.8 million
                -- cells (each cell's empty_day_flows / active_days summed)
                select
                    user_name,
                    sum(empty_day_flows) as empty_flows

                from {{ ref('int_residual_user_components') }}

                where {{ in_half }}

                group by user_name
            ) as empty_totals

            left join (
                -- the empty cells of the hours a daylight-saving change skips on a day of the
                -- window (no cell of them, empty or not, is part of that day), per user as arrays
                -- of days and their flows: joined per (user, day) the skipped hours' estimate
                -- (millions of rows for none) made the planner hash them in batches and write
                -- every cell to disk. The skipped (day, hour)s from a set-returning function and
                -- an anti-join, not a cross join
                select
                    user_name,
                    array_agg(day) as missing_days,
                    array_agg(empty_day_flows) as missing_flows

                from (
                    select
                        skipped.day,
                        user_components.user_name,
                        sum(user_components.empty_day_flows) as empty_day_flows

                    from (
                        select
                            window_dates.day,
                            window_dates.hour_of_day

                        from (
                            select
                                day,
                                generate_series(0, 23) as hour_of_day

                            from {{ ref('int_window_days') }}

                            group by day
                        ) as window_dates

                        where not exists (
                            select 1
                            from {{ ref('int_window_days') }} as window_days
                            where window_days.hour_of_day = window_dates.hour_of_day
                                and window_days.day = window_dates.day
                        )
                    ) as skipped

                    inner join {{ ref('int_residual_user_components') }} as user_components
                        on skipped.hour_of_day = user_components.hour_of_day

                    group by
                        skipped.day,
                        user_components.user_name
                ) as user_day_missing_hours

                group by user_name
            ) as user_missing_hours
                on empty_totals.user_name = user_missing_hours.user_name
        ) as user_totals
            on expected_cells.user_name = user_totals.user_name

        where {{ in_half | replace('user_name', 'expected_cells.user_name') }}
            and {{ netflow_pca.hour_filter('expected_cells.hour_of_day') }}
    ) as corrected_cells
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

),

user_sums as (

    -- per user: the method-of-moments terms of their over-dispersion around the expected and the
    -- corrected counts, and the squared distances of their undamped cells from the corrected ones
    select
        hour_of_day,
        name_id,
        sum(power(flow_count - expected_flow_count, 2) - expected_flow_count) as expected_excess,
        sum(expected_flow_count * expected_flow_count) as expected_squares,
        sum(power(flow_count - corrected_flow_count, 2) - corrected_flow_count) as corrected_excess,
        sum(corrected_flow_count * corrected_flow_count) as corrected_squares,
        coalesce(sum(corrected_distance * corrected_distance) filter (where not is_damped), 0) as kept_squares,
        count(*) filter (where not is_damped) as kept_cells

    from corrected

    group by
        hour_of_day,
        name_id

),

user_moments as materialized (

    -- with the user's level in flows, the hour's phi and their residual spread; materialised:
    -- read by the hour's medians and again per user
    select
        user_sums.*,
        hour_users.level_flows,
        hour_users.phi,
        hour_users.spread

    from user_sums

    inner join hour_users
        on user_sums.hour_of_day = hour_users.hour_of_day
        and user_sums.name_id = hour_users.name_id

),

dispersions as (

    -- the hour's phi shrunk by the share of its cells' excess variance the day factor explains,
    -- each the median over the users at 2 flows or more of excess / squares
    select
        user_moments.hour_of_day,
        max(user_moments.phi) as phi,
        coalesce(
            percentile_cont(0.5) within group (order by user_moments.corrected_excess / nullif(user_moments.corrected_squares, 0))
                filter (where user_moments.level_flows >= 2 and user_moments.corrected_squares > 0),
            0
        ) as corrected_dispersion,
        coalesce(
            percentile_cont(0.5) within group (order by user_moments.expected_excess / nullif(user_moments.expected_squares, 0))
                filter (where user_moments.level_flows >= 2 and user_moments.expected_squares > 0),
            0
        ) as expected_dispersion

    from user_moments

    group by user_moments.hour_of_day

),

hour_phis as (

    select
        hour_of_day,
        greatest(phi * corrected_dispersion / greatest(expected_dispersion, 0.000001), 0) as phi

    from dispersions

),

user_spreads as (

    -- the spread the shrunk count model gives at the user's level (stabilised units), and their
    -- sums with 5 more days at it
    select
        user_moments.hour_of_day,
        user_moments.name_id,
        user_moments.spread,
        hour_phis.phi,
        sqrt(1 + hour_phis.phi * user_moments.level_flows) as pooled_spread,
        user_moments.kept_squares + 5 * (1 + hour_phis.phi * user_moments.level_flows) as prior_squares,
        user_moments.kept_cells + 5 as prior_cells

    from user_moments

    inner join hour_phis
        on user_moments.hour_of_day = hour_phis.hour_of_day

),

tail_terms as (

    -- P(X >= x) for X negative binomial of the corrected mean (at least 0.5) and shape 1 / phi
    -- is P(F(2x, 2 / phi) <= mean / x): Paulson's approximation of F needs a = 2 / (9 x 2x),
    -- b = 2 / (9 x 2 / phi) and the cube root of mean / x; the user's spread around the corrected
    -- counts from their other undamped days
    select
        corrected.*,
        user_spreads.spread,
        user_spreads.pooled_spread,
        1 / (9 * cast(corrected.flow_count as double precision)) as tail_a,
        user_spreads.phi / 9 as tail_b,
        cbrt(greatest(corrected.corrected_flow_count, 0.5) / cast(corrected.flow_count as double precision)) as tail_ratio,
        sqrt(
            (user_spreads.prior_squares - case when corrected.is_damped then 0 else corrected.corrected_distance * corrected.corrected_distance end)
            / (user_spreads.prior_cells - case when corrected.is_damped then 0 else 1 end)
        ) as corrected_spread

    from corrected

    inner join user_spreads
        on corrected.hour_of_day = user_spreads.hour_of_day
        and corrected.name_id = user_spreads.name_id

),

evidence as (

    -- above the prediction, the count's upper tail z at the corrected count (at least 0) times
    -- pooled / the spread around the corrected counts (at most 1); at or below it, residual /
    -- spread. A residual within 1e-9 of 0 is at the prediction: a user whose counts are all alike
    -- has residuals of rounding noise, whose sign would choose between a tail z and 0
    select
        *,
        case
            when residual > 1e-9
                then greatest(((1 - tail_a) - (1 - tail_b) * tail_ratio) / sqrt(tail_a + tail_b * tail_ratio * tail_ratio), 0)
                    * least(pooled_spread / corrected_spread, 1)
            else residual / spread
        end as evidence

    from tail_terms

    -- computed once a cell, not once for each aggregate of user_evidence that names it
    offset 0

),

normal_subspace as (

    select
        hour_of_day,
        max(normal_components) as normal_components

    from hour_users

    group by hour_of_day

),

cell_evidence as materialized (

    -- the one pass over the cells' evidence, per user and gathered day: each user's days above
    -- CARRY_FROM = 1 (or run_at when lower: the runs, made of the days above run_at, the days
    -- above LINK_AT = 2 joining them in what is reported and the days that may carry their
    -- excess; a tenth of the cells) a group each, their other days one group (day_id 0), each
    -- group's best day: the largest (evidence, -day_id) with the day's count, corrected
    -- prediction and the day itself (as days since 1970-01-01, exact in a double). Not each
    -- user's gathered days as arrays of one group per user: PostgreSQL counts 8 kB for each
    -- array_agg state, so that a hash of 400,000 users' five arrays kept about 3,000 of them in
    -- memory and spilled the others' cells (380 MB in 5 batches); an array's max it counts at its
    -- size. Materialised: read for the users' best days and again for the gathered days
    select
        hour_of_day,
        name_id,
        case when evidence > least(1, {{ run.residual_run_at }}) then day_id else 0 end as linked_day_id,
        max(array[
            evidence,
            -day_id,
            cast(flow_count as double precision),
            corrected_flow_count,
            cast(day - date '1970-01-01' as double precision)
        ]) as best_day

    from evidence

    group by
        hour_of_day,
        name_id,
        case when evidence > least(1, {{ run.residual_run_at }}) then day_id else 0 end

),

user_evidence as (

    -- each user's best day
    select
        hour_of_day,
        name_id,
        max(best_day) as best_day

    from cell_evidence

    group by
        hour_of_day,
        name_id

),

linked_days as (

    -- the days gathered, best_day's array unpacked
    select
        hour_of_day,
        name_id,
        linked_day_id as day_id,
        date '1970-01-01' + cast(best_day[5] as integer) as day,
        best_day[1] as evidence,
        cast(best_day[3] as bigint) as flow_count,
        best_day[4] as expected_flow_count

    from cell_evidence

    where linked_day_id > 0

),

run_cells as (

    -- the days gathered, those above LINK_AT numbered so that a stretch of consecutive days shares
    -- its number, and those above run_at so that a run of consecutive days does (null for the
    -- others)
    select
        hour_of_day,
        name_id,
        day_id,
        day,
        evidence,
        flow_count,
        expected_flow_count,
        case
            when evidence > least(2, {{ run.residual_run_at }})
                then day_id - count(*) filter (where evidence > least(2, {{ run.residual_run_at }})) over user_days
        end as stretch,
        case
            when evidence > {{ run.residual_run_at }}
                then day_id - count(*) filter (where evidence > {{ run.residual_run_at }}) over user_days
        end as run

    from linked_days

    window user_days as (partition by hour_of_day, name_id order by day_id)

),

runs as (

    -- a run's score: its best day, or sum / sqrt(days) when that is more and the run is no
    -- longer than a burst lasts
    select
        hour_of_day,
        name_id,
        stretch,
        min(day_id) as first_day_id,
        greatest(
            max(evidence),
            case when count(*) <= {{ run.residual_max_run_days }} then sum(evidence) / sqrt(count(*)) end
        ) as run_score

    from run_cells

    where run is not null

    group by
        hour_of_day,
        name_id,
        stretch,
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

reported_runs as (

    -- the best run with the runs joined to it through its stretch of days above LINK_AT (a burst
    -- whose days dip under run_at is one flag from its first day), the score unchanged: from the
    -- first day above run_at to the last, the median excess (flows above the corrected count) of
    -- those days, and the best day within, as user_evidence's
    select
        best_runs.hour_of_day,
        best_runs.name_id,
        best_runs.run_score,
        min(run_cells.day_id) as first_day_id,
        max(run_cells.day_id) as last_day_id,
        percentile_cont(0.5) within group (order by run_cells.flow_count - run_cells.expected_flow_count) as run_excess,
        max(array[
            run_cells.evidence,
            -run_cells.day_id,
            cast(run_cells.flow_count as double precision),
            run_cells.expected_flow_count,
            cast(run_cells.day - date '1970-01-01' as double precision)
        ]) as best_day

    from best_runs

    inner join run_cells
        on best_runs.hour_of_day = run_cells.hour_of_day
        and best_runs.name_id = run_cells.name_id
        and best_runs.stretch = run_cells.stretch

    where run_cells.run is not null

    group by
        best_runs.hour_of_day,
        best_runs.name_id,
        best_runs.run_score

),

carried_cells as (

    -- the reported run and the gathered days that carry its excess: above CARRY_FROM = 1, with at
    -- least CARRY_SHARE = 0.5 of its median excess (a lasting burst adds about the same flows every
    -- day, so a day nearer that than the expected count is part of it even when its own evidence
    -- is low; a usual noisy day has a small excess beside a burst's), numbered so that consecutive
    -- days share their number
    select
        run_cells.hour_of_day,
        run_cells.name_id,
        run_cells.day,
        run_cells.day_id = reported_runs.first_day_id as is_run_start,
        run_cells.day_id - row_number() over (
            partition by run_cells.hour_of_day, run_cells.name_id order by run_cells.day_id
        ) as island

    from reported_runs

    inner join run_cells
        on reported_runs.hour_of_day = run_cells.hour_of_day
        and reported_runs.name_id = run_cells.name_id

    where run_cells.day_id between reported_runs.first_day_id and reported_runs.last_day_id
        or (
            run_cells.evidence > 1
            and run_cells.flow_count - run_cells.expected_flow_count >= 0.5 * reported_runs.run_excess
        )

),

reported_spans as (

    -- the reported run grown by the consecutive days beside it that carry its excess
    select
        hour_of_day,
        name_id,
        min(day) as first_day,
        max(day) as last_day

    from carried_cells

    group by
        hour_of_day,
        name_id,
        island

    having bool_or(is_run_start)

),

best_days as (

    -- the reported run's best day (the earliest of equals), or the user's best day without a run
    select
        user_evidence.hour_of_day,
        hour_users.user_name,
        reported_runs.run_score,
        reported_spans.first_day,
        reported_spans.last_day,
        coalesce(reported_runs.best_day, user_evidence.best_day) as best_day

    from user_evidence

    inner join hour_users
        on user_evidence.hour_of_day = hour_users.hour_of_day
        and user_evidence.name_id = hour_users.name_id

    left join reported_runs
        on user_evidence.hour_of_day = reported_runs.hour_of_day
        and user_evidence.name_id = reported_runs.name_id

    left join reported_spans
        on user_evidence.hour_of_day = reported_spans.hour_of_day
        and user_evidence.name_id = reported_spans.name_id

),

chosen_days as (

    -- best_days' array, unpacked
    select
        hour_of_day,
        user_name,
        run_score,
        first_day,
        last_day,
        best_day[1] as evidence,
        cast(best_day[3] as bigint) as flow_count,
        best_day[4] as expected_flow_count,
        date '1970-01-01' + cast(best_day[5] as integer) as day

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
