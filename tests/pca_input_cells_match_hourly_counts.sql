-- Per (hour, day), three properties in two scans of aggregates, where a group-by of every
-- (user, day, hour) key and a join of every cell cost several times as much:
-- - int_hourly_counts holds each user at most once (its cells equal its distinct users; every
--   day it holds, in or out of the window);
-- - every day of the hour in int_window_days that int_hourly_counts holds is a day of
--   int_pca_input and the reverse, with the same cells, flows and checksum of (user, count)
--   pairs (a sum of 64-bit hashes of the name, the count as the hash's seed: hashing the text
--   name/count cost the test 2 s more CPU a side at 5.8 million cells): no count lost, added,
--   doubled or changed. With the first,
--   int_pca_input is unique per (hour, day, user) too;
-- - each day of int_pca_input has one day_id, the day's row of the hour in int_window_days
--   (unique per hour and day, and per hour and day_id), so day_id and day stand for each other.
-- The (hour, day) groups where one fails, with a problem column naming it. Only the hours this
-- run builds: a run of other hours at the same time commits its models one by one, so across two
-- models its hours may be half rewritten.
with

pca_input as (

    select * from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

hourly_counts as (

    select * from {{ ref('int_hourly_counts') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

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
        max(day_id) as max_day_id

    from pca_input

    group by
        hour_of_day,
        day

),

{#- the distinct count sorts the cells by (hour, day) only, integer keys: a group-by of the whole
    key took twice as long #}
hourly_count_days as (

    select
        hour_of_day,
        day,
        count(*) as cells,
        count(distinct user_name collate "C") as users,
        sum(flow_count) as flows,
        sum(hashtextextended(user_name, flow_count)) as checksum

    from hourly_counts

    group by
        hour_of_day,
        day

),

compared as (

    select
        coalesce(pca_input_days.hour_of_day, hourly_count_days.hour_of_day) as hour_of_day,
        coalesce(pca_input_days.day, hourly_count_days.day) as day,
        pca_input_days.cells as pca_input_cells,
        hourly_count_days.cells as hourly_count_cells,
        hourly_count_days.users as hourly_count_users,
        pca_input_days.flows as pca_input_flows,
        hourly_count_days.flows as hourly_count_flows,
        pca_input_days.checksum as pca_input_checksum,
        hourly_count_days.checksum as hourly_count_checksum,
        pca_input_days.min_day_id,
        pca_input_days.max_day_id

    from pca_input_days

    full outer join hourly_count_days
        on pca_input_days.hour_of_day = hourly_count_days.hour_of_day
        and pca_input_days.day = hourly_count_days.day

),

checked as (

    select
        compared.*,
        window_days.day_id as window_day_id,
        compared.hourly_count_cells <> compared.hourly_count_users as counts_repeat_a_user,
        (compared.pca_input_cells is not null or window_days.day is not null)
            and (compared.pca_input_cells is distinct from compared.hourly_count_cells
                or compared.pca_input_flows is distinct from compared.hourly_count_flows
                or compared.pca_input_checksum is distinct from compared.hourly_count_checksum) as cells_differ,
        compared.pca_input_cells is not null
            and (compared.min_day_id is distinct from window_days.day_id
                or compared.max_day_id is distinct from window_days.day_id) as day_id_differs

    from compared

    left join window_days
        on compared.hour_of_day = window_days.hour_of_day
        and compared.day = window_days.day

),

final as (

    select
        concat_ws('; ',
            case when counts_repeat_a_user then 'int_hourly_counts holds a user more than once' end,
            case when cells_differ then 'the cells differ from int_hourly_counts' end,
            case when day_id_differs then 'day_id is not the row of the day in int_window_days' end
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
        window_day_id

    from checked

    where counts_repeat_a_user
        or cells_differ
        or day_id_differs

)

select * from final
