{#- The residual method's fit seen from each cell, for the set-based route (docs/scoring.md, steps
    6-7 and the whole day's first step): per active cell, its residual off the hour's normal
    subspace and the count the subspace expects there, with what an empty cell of its user in
    that hour counts toward their expected day. A table of its own because the evidence of every hour
    needs the expected counts of all 24 (int_residual_scores sums them per user and day): a
    one-hour run reads the other hours' stored rows. The planner misjudges the sizes of CTEs over
    unnested arrays and picks merge joins that rescan the cells' projections: hash joins only
    (JIT is off for every model: dbt_project.yml); work_mem holds the hash of every user's row of int_residual_user_components
    (about 40 MB at 20,000 users) in one batch. The cells' joins and arithmetic run in two
    parallel workers, the leader only storing their rows (parallel_leader_participation off).
    Disabled or empty where int_residual_pca_input is (residual_scoring_route). -#}
{%- set partitioned = netflow_pca.hour_partitioned_config() %}
{{ config(**dict(
    partitioned,
    enabled=netflow_pca.residual_scoring_route(from_vars=true) != 'numpy',
    distributed_by=['user_name'],
    pre_hook=partitioned.get('pre_hook', []) + [
        'set local enable_mergejoin = off',
        'set local enable_nestloop = off',
        "set local work_mem = '64MB'",
        "{{ netflow_pca.set_local_where_known('parallel_leader_participation', 'off') }}",
    ],
)) }}
{#- as many loadings as the largest normal subspace of the hours built (1 or 2 of the 20 the fit
    holds at 10 M events): a loading past an hour's normal components is null and adds 0 to every
    projection, which summed 20 products per cell. In a build this model compiles after
    int_residual_user_components is built, so this is its own -#}
{%- set most_components = netflow_pca.residual_loadings_needed(ref('int_residual_user_components'), 'normal_components') %}

with

cells as not materialized (

    -- not materialised: each use scans the analysed table, whose statistics the planner then
    -- has (a materialised copy of every cell was written to disk and read six times)
    select * from {{ ref('int_residual_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

user_components as not materialized (

    select * from {{ ref('int_residual_user_components') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

users as not materialized (

    -- the user's loadings as columns; not materialised, so that the planner has the table's
    -- statistics. No offset 0 to take them out of their array once a user rather than once a
    -- cell: a subquery with an offset keeps every join to it out of parallel workers
    select
        hour_of_day,
        name_id,
        column_mean,
        empty_day_flows,
        {%- for k in range(1, most_components + 1) %}
        loadings[{{ k }}] as loading_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from user_components

),

component_offsets as (

    select
        hour_of_day,
        {%- for k in range(1, most_components + 1) %}
        sum(loading_{{ k }} * column_mean) as mean_score_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from users

    group by hour_of_day

),

day_sums as (

    -- per day, one sum per normal component over the day's cells (null past the hour's normal
    -- components), of the cells off their user's level only: a deviation of 0 adds nothing, and
    -- 3.6 of 5.8 million cells are at the level at 10 M events (a day without such cells has no
    -- row here: day_scores). The scan, join and partial sums run in two workers (a Gather
    -- Merge of 2,160 rows a worker)
    select
        cells.hour_of_day,
        cells.day_id,
        {%- for k in range(1, most_components + 1) %}
        sum(cells.deviation * user_components.loadings[{{ k }}]) as score_sum_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from cells

    inner join user_components
        on cells.hour_of_day = user_components.hour_of_day
        and cells.name_id = user_components.name_id

    where cells.deviation <> 0

    group by
        cells.hour_of_day,
        cells.day_id

),

hour_days as (

    -- every day of the hour's matrix, its rows (a table, whose size the planner knows)
    select
        hour_of_day,
        day_id

    from {{ ref('int_window_days') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

day_scores as (

    -- each day's coordinates in the normal subspace, of its centred undamped deviations (the
    -- sums 0 on a day whose cells are all at their users' levels)
    select
        hour_days.hour_of_day,
        hour_days.day_id,
        {%- for k in range(1, most_components + 1) %}
        coalesce(day_sums.score_sum_{{ k }}, 0) - component_offsets.mean_score_{{ k }} as day_score_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from hour_days

    inner join component_offsets
        on hour_days.hour_of_day = component_offsets.hour_of_day

    left join day_sums
        on hour_days.hour_of_day = day_sums.hour_of_day
        and hour_days.day_id = day_sums.day_id

),

day_score_arrays as (

    -- every day's scores on a component in one array, in (hour, day_id) order, and each hour's
    -- place in them (the days of the hours before it): projections reads a cell's through scalar
    -- subqueries, initplans that the leader runs once and hands to the parallel workers, where a
    -- join to day_scores (whose sums run under a Gather of their own, which a worker cannot run)
    -- kept the join of every cell to its user in the leader. 0 rather than null where an hour has
    -- fewer components (its users' loadings are null there too): an array with nulls is searched
    -- element by element
    select
        {%- for k in range(1, most_components + 1) %}
        array_agg(coalesce(day_score_{{ k }}, 0) order by hour_of_day, day_id) as day_scores_{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}

    from day_scores

),

hour_places as (

    select array_agg(coalesce(hour_days_before.days_before, 0) order by hours.hour_of_day) as hour_places

    from generate_series(0, 23) as hours (hour_of_day)

    left join (
        select
            hour_of_day,
            cast(sum(count(*)) over (order by hour_of_day) - count(*) as integer) as days_before

        from day_scores

        group by hour_of_day
    ) as hour_days_before
        on hours.hour_of_day = hour_days_before.hour_of_day

),

projections as (

    -- each cell's column mean and projection on the normal subspace: its day's scores times its
    -- user's loadings. Pulled into final, which names the projection twice (its sum of products
    -- computed twice a cell, in the workers): with offset 0 between them final's arithmetic ran
    -- in the leader, as nothing under an offset runs in parallel workers
    select
        cells.hour_of_day,
        cells.day_id,
        cells.name_id,
        cells.user_name,
        cells.day,
        cells.flow_count,
        cells.active_days,
        cells.level,
        cells.scale,
        cells.deviation,
        cells.fit_value <> cells.deviation as is_damped,
        users.column_mean,
        users.empty_day_flows,
        {%- for k in range(1, most_components + 1) %}
        {{ '+ ' if not loop.first }}coalesce(
            (select day_scores_{{ k }} from day_score_arrays)[(select hour_places from hour_places)[cells.hour_of_day + 1] + cells.day_id]
            * users.loading_{{ k }},
            0
        )
        {%- endfor %} as projection

    from cells

    inner join users
        on cells.hour_of_day = users.hour_of_day
        and cells.name_id = users.name_id

),

final as (

    select
        hour_of_day,
        day_id,
        name_id,
        user_name,
        day,
        flow_count,
        active_days,
        deviation - column_mean - projection as residual,
        -- the count the normal subspace predicts: level + scale x its prediction, in flows
        {{ netflow_pca.flows_of_stabilised('level + scale * (column_mean + projection)') }} as expected_flow_count,
        is_damped,
        empty_day_flows

    from projections
    {%- if netflow_pca.residual_scoring_route() != 'sql' %}

    where false
    {%- endif %}

)

select * from final
