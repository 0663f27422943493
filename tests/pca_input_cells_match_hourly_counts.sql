-- Every property of int_pca_input (and int_hourly_counts' uniqueness), checked on aggregates in
-- three hash aggregates of the cells, where a group-by of every (user, day, hour) key, a join of
-- every cell or a sort of the cells cost several times as much:
-- - per (hour, day) of int_pca_input and of int_hourly_counts (integer keys, 2,160 groups):
--   every day of the hour in int_window_days that int_hourly_counts holds is a day of
--   int_pca_input and the reverse, with the same cells, flows and checksum of (user, count)
--   pairs (a sum of 64-bit hashes of the name, the count as the hash's seed: hashing the text
--   name/count cost 2 s more CPU a side at 5.8 million cells): no count lost, added, doubled or
--   changed; each day of int_pca_input has one day_id, the day's row of the hour in
--   int_window_days (unique per hour and day, and per hour and day_id), so day_id and day stand
--   for each other; no column null, day_id, name_id and flow_count at least 1, the hour 0..23;
-- - per (hour, user) of int_pca_input: name_id the user's dense rank by name (bytewise) among
--   the hour's users, so one name_id per user and one user per name_id; and the user's cells on
--   distinct day_ids (a bit per day_id or-ed, its bits counted against the cells), so with the
--   above int_pca_input is unique per (hour, day, user) and per (hour, day_id, name_id), and
--   int_hourly_counts, whose cells on those days are the same, per (user, day, hour);
-- - int_hourly_counts' days that are no row of the hour in int_window_days (none with run_date;
--   the earlier days without): its users counted distinct there, on those cells only.
-- The failing (hour, day) and (hour, user) groups, with a problem column naming what fails.
-- Only the hours this run builds: a run of other hours at the same time commits its models one
-- by one, so across two models its hours may be half rewritten (the model's inner join on the
-- hour writes no null hour).
{%- set run = netflow_pca.run_vars() %}
{#- day_id is at most lookback_days (the window's days): 63 of them to a bigint #}
{%- set day_words = range((run.lookback_days + 62) // 63) %}

with

window_days as (

    select * from {{ ref('int_window_days') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

),

{#- the two aggregates of int_pca_input and the two of int_hourly_counts each read the table: a
    CTE read twice would be written out whole #}
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

pca_input_users as (

    select
        hour_of_day,
        user_name collate "C" as user_name,
        min(name_id) as min_name_id,
        max(name_id) as max_name_id,
        count(name_id) as name_ids,
        count(*) as cells,
        {%- for word in day_words %}
        bit_or(case when day_id between {{ 63 * word + 1 }} and {{ 63 * word + 63 }}
            then cast(1 as bigint) << (day_id - {{ 63 * word + 1 }}) else 0 end) as days_{{ word }}{{ ',' if not loop.last }}
        {%- endfor %}

    from {{ ref('int_pca_input') }}

    where {{ netflow_pca.hour_filter('hour_of_day') }}

    group by
        hour_of_day,
        user_name collate "C"

),

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

ranked_users as (

    select
        pca_input_users.*,
        dense_rank() over (partition by hour_of_day order by user_name) as expected_name_id,
        {%- for word in day_words %}
        length(replace(cast(cast(days_{{ word }} as bit(64)) as text), '0', '')){{ ' +' if not loop.last }}
        {%- endfor %} as days

    from pca_input_users

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
        cast(null as text) as user_name,
        pca_input_cells as cells,
        hourly_count_cells,
        hourly_count_users,
        pca_input_flows,
        hourly_count_flows,
        min_day_id,
        max_day_id,
        window_day_id,
        bad_cells,
        cast(null as bigint) as min_name_id,
        cast(null as bigint) as max_name_id,
        cast(null as bigint) as expected_name_id,
        cast(null as bigint) as days

    from checked_days

    where counts_repeat_a_user
        or cells_differ
        or day_id_differs
        or bad_cells > 0

),

failing_users as (

    select
        concat_ws('; ',
            case when min_name_id is distinct from expected_name_id
                or max_name_id is distinct from expected_name_id
                or name_ids < cells then 'name_id is not the rank of the user by name in the hour' end,
            case when days < cells then 'a user has two cells on a day_id' end
        ) as problem,
        hour_of_day,
        cast(null as date) as day,
        user_name,
        cells,
        cast(null as bigint) as hourly_count_cells,
        cast(null as bigint) as hourly_count_users,
        cast(null as bigint) as pca_input_flows,
        cast(null as bigint) as hourly_count_flows,
        cast(null as integer) as min_day_id,
        cast(null as integer) as max_day_id,
        cast(null as integer) as window_day_id,
        cast(null as bigint) as bad_cells,
        min_name_id,
        max_name_id,
        expected_name_id,
        days

    from ranked_users

    where min_name_id is distinct from expected_name_id
        or max_name_id is distinct from expected_name_id
        or name_ids < cells
        or days < cells

),

final as (

    select * from failing_days

    union all

    select * from failing_users

)

select * from final
