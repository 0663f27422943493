-- int_pca_input against int_hourly_counts, on aggregates per (hour, day) (integer keys, 2,160
-- groups at 10 million events), where a join of every cell or a sort of the cells cost several
-- times as much:
-- - every day of the hour in int_window_days that int_hourly_counts holds is a day of
--   int_pca_input and the reverse, with the same cells, flows and checksum of (user, count)
--   pairs (a sum of 64-bit hashes of the name, the count as the hash's seed: hashing the text
--   name/count cost 2 s more CPU a side at 5.8 million cells): no count lost, added, doubled or
--   changed. With pca_input_name_ids_rank_users (one cell per (hour, day, user) of
--   int_pca_input), int_hourly_counts is unique per (user, day, hour) on the window's days;
-- - its days that are no row of the hour in int_window_days (none with run_date; the earlier
--   days without): its users counted distinct there, on those cells only;
-- - each day of int_pca_input has one day_id, the day's row of the hour in int_window_days
--   (unique per hour and day, and per hour and day_id), so day_id and day stand for each other;
-- - no column of int_pca_input null, day_id, name_id and flow_count at least 1, the hour 0..23.
-- The (hour, day) groups where one fails, with a problem column naming it. Only the hours this
-- run builds: a run of other hours at the same time commits its models one by one, so across two
-- models its hours may be half rewritten (the model's inner join on the hour writes no null hour).
with

window_days as (

    select * from {{ ref('int_window_days') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

pca_input_days as (

    select
        hour_of_day,
        day,
        count(*) as cells,
        sum(flow_count) as flows,
        sum(hashtextextended(user_name, flow_count)) as checksum,
        min(day_id) as min_day_id,
        max(day_id) as max_day_id,
        count(*) filter (where hour_of_day is null or day is null or day_id is null or name_id is null
            or user_name is null or flow_count is null
            or not (hour_of_day between 0 and 23) or day_id < 1 or name_id < 1 or flow_count < 1) as bad_cells

    from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        day

),

{#- the two aggregates of int_hourly_counts each read the table: a CTE read twice would be
    written out whole #}
hourly_count_days as (

    select
        hour_of_day,
        day,
        count(*) as cells,
        sum(flow_count) as flows,
        sum(hashtextextended(user_name, flow_count)) as checksum

    from {{ ref('int_hourly_counts') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        day

),

outside_days as (

    select
        hourly_count_days.hour_of_day,
        hourly_count_days.day

    from hourly_count_days

    left join window_days
        on hourly_count_days.hour_of_day = window_days.hour_of_day
        and hourly_count_days.day = window_days.day

    where window_days.day is null

),

{#- an empty outside_days (a run with run_date) reads no cell here #}
outside_day_users as (

    select
        hourly_counts.hour_of_day,
        hourly_counts.day,
        count(*) as cells,
        count(distinct hourly_counts.user_name collate "C") as users

    from {{ ref('int_hourly_counts') }} as hourly_counts

    inner join outside_days
        on hourly_counts.hour_of_day = outside_days.hour_of_day
        and hourly_counts.day = outside_days.day

    group by
        hourly_counts.hour_of_day,
        hourly_counts.day

),

compared_days as (

    select
        coalesce(pca_input_days.hour_of_day, hourly_count_days.hour_of_day) as hour_of_day,
        coalesce(pca_input_days.day, hourly_count_days.day) as day,
        pca_input_days.cells as pca_input_cells,
        hourly_count_days.cells as hourly_count_cells,
        pca_input_days.flows as pca_input_flows,
        hourly_count_days.flows as hourly_count_flows,
        pca_input_days.checksum as pca_input_checksum,
        hourly_count_days.checksum as hourly_count_checksum,
        pca_input_days.min_day_id,
        pca_input_days.max_day_id,
        pca_input_days.bad_cells

    from pca_input_days

    full outer join hourly_count_days
        on pca_input_days.hour_of_day = hourly_count_days.hour_of_day
        and pca_input_days.day = hourly_count_days.day

),

checked_days as (

    select
        compared_days.*,
        window_days.day_id as window_day_id,
        outside_day_users.users as hourly_count_users,
        outside_day_users.cells <> outside_day_users.users as counts_repeat_a_user,
        (compared_days.pca_input_cells is not null or window_days.day is not null)
            and (compared_days.pca_input_cells is distinct from compared_days.hourly_count_cells
                or compared_days.pca_input_flows is distinct from compared_days.hourly_count_flows
                or compared_days.pca_input_checksum is distinct from compared_days.hourly_count_checksum) as cells_differ,
        compared_days.pca_input_cells is not null
            and (compared_days.min_day_id is distinct from window_days.day_id
                or compared_days.max_day_id is distinct from window_days.day_id) as day_id_differs

    from compared_days

    left join window_days
        on compared_days.hour_of_day = window_days.hour_of_day
        and compared_days.day = window_days.day

    left join outside_day_users
        on compared_days.hour_of_day = outside_day_users.hour_of_day
        and compared_days.day = outside_day_users.day

),

failing_days as (

    select
        concat_ws('; ',
            case when counts_repeat_a_user then 'int_hourly_counts holds a user more than once' end,
            case when cells_differ then 'the cells differ from int_hourly_counts' end,
            case when day_id_differs then 'day_id is not the row of the day in int_window_days' end,
            case when bad_cells > 0 then 'a column is null or out of range' end
        ) as problem,
        hour_of_day,
        day,
        pca_input_cells,
        hourly_count_cells,
        hourly_count_users,
        pca_input_flows,
        hourly_count_flows,
        min_day_id,
        max_day_id,
        window_day_id,
        bad_cells

    from checked_days

    where counts_repeat_a_user
        or cells_differ
        or day_id_differs
        or bad_cells > 0

),

final as (

    select * from failing_days

)

select * from final
